#!/usr/bin/env python3
"""Aggregate generation speed of `hearth serve` with 1, 2, 4, 8 concurrent streaming clients.

Continuous batching runs the next token of every active request in one forward pass, so each
weight is read once per step for all of them; decode is bandwidth-bound, so the aggregate
tokens/s should grow with the clients until compute runs out.

  bench/serve_concurrency.py [--hearth build/bin/hearth] [--model M.gguf] [--clients 1,2,4,8]
                             [--tokens 64] [--rounds 2] [--threads N]

Without --model it synthesizes Llama 3.2 1B shapes in Q4_0 (`hearth synth --preset llama3-1b
--type Q4_0`) once into /tmp. Each client streams `--rounds` completions of `--tokens` tokens
(ignoring nothing: a random-weight model may stop early at an end token; only tokens actually
generated, from the usage counts, are counted). Prints a Markdown table.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_common import Server, machine_note, stream_completion  # noqa: E402


def run_level(server, n_clients, tokens, rounds):
    results = []
    lock = threading.Lock()

    def client(i):
        for r in range(rounds):
            body = {"prompt": f"Client {i} round {r}: once upon a time", "max_tokens": tokens,
                    "temperature": 0.8, "seed": 1000 * i + r}
            _, usage, t_first, t_end = stream_completion(server, body)
            with lock:
                results.append((usage["completion_tokens"], t_first or t_end, t_end))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    generated = sum(r[0] for r in results)
    per_stream = [r[0] / max(r[2] - r[1], 1e-9) for r in results if r[0] > 1]
    ttft = sorted(r[1] for r in results)
    return {
        "clients": n_clients,
        "requests": len(results),
        "tokens": generated,
        "wall": wall,
        "aggregate": generated / wall,
        "per_stream": sum(per_stream) / max(len(per_stream), 1),
        "ttft_p50": ttft[len(ttft) // 2],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", default="build/bin/hearth")
    ap.add_argument("--model")
    ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="server compute threads (0: its default)")
    ap.add_argument("--ctx", type=int, default=512, help="context per slot")
    a = ap.parse_args()

    model = a.model
    if not model:
        model = "/tmp/hearth-bench-llama3-1b-q4_0.gguf"
        if not os.path.exists(model):
            print(f"synthesizing {model} ...", file=sys.stderr)
            subprocess.run([a.hearth, "synth", "--preset", "llama3-1b", "--type", "Q4_0", "-o", model, "-q"], check=True)
    levels = [int(x) for x in a.clients.split(",")]
    note = machine_note()
    args = ["--parallel", str(max(levels)), "-c", str(a.ctx)]
    if a.threads:
        args += ["-t", str(a.threads)]
    server = Server(a.hearth, model, *args)
    try:
        stream_completion(server, {"prompt": "warm up", "max_tokens": 4})  # page the weights in
        rows = [run_level(server, n, a.tokens, a.rounds) for n in levels]
    finally:
        server.stop()

    base = rows[0]["aggregate"]
    print(f"model: {os.path.basename(model)}; server: --parallel {max(levels)} -c {a.ctx}"
          f"{' -t ' + str(a.threads) if a.threads else ''}; {a.rounds} streaming requests of up to {a.tokens} tokens per client")
    print(f"machine: {note}")
    print()
    print("| clients | requests | tokens | wall (s) | aggregate tok/s | vs 1 client | per-stream tok/s | TTFT p50 (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['clients']} | {r['requests']} | {r['tokens']} | {r['wall']:.1f} | {r['aggregate']:.1f} | "
              f"{r['aggregate'] / base:.2f}x | {r['per_stream']:.1f} | {r['ttft_p50']:.2f} |")


if __name__ == "__main__":
    main()
