#!/usr/bin/env python3
"""Time to first token of turn 10 of a chat, with the server's prompt cache and without it.

A chat client sends the whole history every turn. With the prompt cache, the slot that served
turn 9 still holds its KV cache, so turn 10 evaluates only what is new (turn 9's answer and the
new message); without it (`--no-prompt-cache`) it evaluates the whole history again.

  bench/serve_prompt_cache.py [--hearth build/bin/hearth] [--model M.gguf] [--history 2000]
                              [--reps 5] [--threads N]

Without --model it synthesizes Llama 3.2 1B shapes in Q4_0 (`hearth synth --preset llama3-1b
--type Q4_0`) once into /tmp. Two servers run side by side (one with the cache, one with
--no-prompt-cache; one request at a time, alternating), so both see the same machine load.
Each repetition is a different chat (its system message names the repetition, so no earlier
repetition's cache helps): on the cached server turn 9 is sent first (as the chat would) and its
answer goes into turn 10's history; the uncached server gets the same turn 10. TTFT is the wall
time of a non-streaming request for one token (prompt evaluation plus one sampling step).
Prints a Markdown table of median / min / max.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_common import Server, machine_note, post  # noqa: E402

WORDS = ("river stone lantern orchard harbor meadow copper violin garden thunder candle mirror "
         "forest winter signal marble ribbon falcon pepper castle").split()


def text(seed, n_words):
    return " ".join(WORDS[(seed * 7 + i * 3 + i * i) % len(WORDS)] for i in range(n_words))


def history(rep, words_per_message):
    """Turns 1–8 (user and assistant) and turn 9's user message: a chat of this repetition."""
    msgs = [{"role": "system", "content": f"Chat {rep}. You answer briefly."}]
    for turn in range(1, 9):
        msgs.append({"role": "user", "content": f"Question {turn}: " + text(rep * 100 + turn, words_per_message)})
        msgs.append({"role": "assistant", "content": f"Answer {turn}: " + text(rep * 100 + 50 + turn, words_per_message)})
    msgs.append({"role": "user", "content": "Question 9: " + text(rep * 100 + 9, words_per_message)})
    return msgs


def chat(server, messages, max_tokens):
    t0 = time.perf_counter()
    status, body = post(server, "/v1/chat/completions",
                        {"messages": messages, "max_tokens": max_tokens, "temperature": 0})
    wall = time.perf_counter() - t0
    if status != 200:
        raise RuntimeError(f"status {status}: {body}")
    return body, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", default="build/bin/hearth")
    ap.add_argument("--model")
    ap.add_argument("--history", type=int, default=2000,
                    help="approximate tokens of history before turn 10 (estimated from a probe; on the synthetic "
                         "llama3 tokenizer it overshoots: 1400 gives ~2,000, 2000 gives ~2,640; the real count is printed)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--answer", type=int, default=32, help="tokens of turn 9's answer")
    ap.add_argument("--threads", type=int, default=0, help="server compute threads (0: its default)")
    ap.add_argument("--ctx", type=int, default=4096, help="context per slot")
    a = ap.parse_args()

    model = a.model
    if not model:
        model = "/tmp/hearth-bench-llama3-1b-q4_0.gguf"
        if not os.path.exists(model):
            print(f"synthesizing {model} ...", file=sys.stderr)
            subprocess.run([a.hearth, "synth", "--preset", "llama3-1b", "--type", "Q4_0", "-o", model, "-q"], check=True)
    args = ["--parallel", "2", "-c", str(a.ctx)]
    if a.threads:
        args += ["-t", str(a.threads)]
    note = machine_note()
    cached_server = Server(a.hearth, model, *args)
    plain_server = Server(a.hearth, model, *args, "--no-prompt-cache")
    rows = {"cache": [], "no cache": []}
    prompt_tokens, cached_tokens = [], []
    try:
        for s in (cached_server, plain_server):  # page the weights in
            chat(s, [{"role": "user", "content": "warm up"}], 2)
        # Tokens per word of this tokenizer, so that 17 messages make about --history tokens.
        probe = [{"role": "user", "content": text(0, 100)}]
        empty = chat(plain_server, [{"role": "user", "content": ""}], 1)[0]["usage"]["prompt_tokens"]
        per_word = (chat(plain_server, probe, 1)[0]["usage"]["prompt_tokens"] - empty) / 100
        words = max(4, int(a.history / 17 / per_word))
        for rep in range(a.reps):
            msgs = history(rep, words)
            turn9, _ = chat(cached_server, msgs, a.answer)
            msgs = msgs + [{"role": "assistant", "content": turn9["choices"][0]["message"]["content"]},
                           {"role": "user", "content": "Question 10: " + text(rep * 100 + 10, words)}]
            body, wall = chat(cached_server, msgs, 1)
            rows["cache"].append(wall)
            prompt_tokens.append(body["usage"]["prompt_tokens"])
            cached_tokens.append(body["usage"]["prompt_tokens_details"]["cached_tokens"])
            plain, wall = chat(plain_server, msgs, 1)
            rows["no cache"].append(wall)
            assert plain["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
            assert plain["choices"][0]["message"]["content"] == body["choices"][0]["message"]["content"], \
                "the cached and uncached servers answered differently"
            print(f"rep {rep}: prompt {prompt_tokens[-1]} tokens, {cached_tokens[-1]} cached; "
                  f"TTFT {rows['cache'][-1]:.3f} s cached, {rows['no cache'][-1]:.3f} s not", file=sys.stderr)
    finally:
        cached_server.stop()
        plain_server.stop()

    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"model: {os.path.basename(model)}; server: --parallel 2 -c {a.ctx}"
          f"{' -t ' + str(a.threads) if a.threads else ''}; turn 10 prompt: {statistics.median(prompt_tokens):.0f} "
          f"tokens (median), {statistics.median(cached_tokens):.0f} of them cached; {a.reps} repetitions")
    print(f"machine: {note}")
    print()
    print("| server | TTFT median (s) | min (s) | max (s) |")
    print("|---|---:|---:|---:|")
    for k, v in rows.items():
        print(f"| {k} | {med[k]:.3f} | {min(v):.3f} | {max(v):.3f} |")
    print()
    ratios = [n / c for n, c in zip(rows["no cache"], rows["cache"])]
    print(f"TTFT ratio (no cache / cache): {med['no cache'] / med['cache']:.1f}x of the medians; "
          f"per repetition min {min(ratios):.1f}x, max {max(ratios):.1f}x")


if __name__ == "__main__":
    main()
