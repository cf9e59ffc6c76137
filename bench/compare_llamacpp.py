#!/usr/bin/env python3
"""Side-by-side speed of hearth and llama.cpp on the same GGUF files, same machine, same run.

Usage:
  bench/compare_llamacpp.py --llama-bench /path/to/llama-bench [--hearth build/bin/hearth]
                            [-p 512] [-n 128] [-r 5] [-t 1,2] [--rounds 1] MODEL.gguf [MODEL.gguf ...]

Runs each model through `hearth bench --json` and `llama-bench -o json` with the same prompt
and generation lengths, repetitions and thread counts, alternating the two engines per model
(and, with --rounds N, N times over, alternating which goes first) so drift in machine load
hits both alike. Prints a markdown table with the median [min – max] t/s of both over every
repetition, the ratio of medians hearth / llama.cpp, and hearth's GB/s and % of measured read
bandwidth. --json writes the raw
rows too. The peer binary is something you build yourself; this script never builds it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run_json(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    out = proc.stdout
    start = out.find("[")
    if start < 0:
        sys.exit(f"no JSON array in the output of: {' '.join(cmd)}\n{out[-2000:]}")
    return json.loads(out[start:])


def test_name(row):
    return f"pp{row['n_prompt']}" if row.get("n_gen", 0) == 0 else f"tg{row['n_gen']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--llama-bench", required=True, help="path to a llama-bench binary you built")
    ap.add_argument("--hearth", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "hearth"))
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-r", type=int, default=5)
    ap.add_argument("-t", default="1,2", help="thread counts, comma-separated")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run both engines this many times, alternating which goes first; the table "
                         "pools every repetition (machine drift over minutes then hits both alike)")
    ap.add_argument("--json", help="also write all rows to this file")
    ap.add_argument("--peer-load-modes", default="auto,none",
                    help="llama-bench -lm values to try; each test keeps llama.cpp's fastest (on small VMs "
                         "'none' is often much faster for generation than the default)")
    args = ap.parse_args()

    rows = []
    for rnd in range(args.rounds):
        for model in args.models:
            # Alternate which engine goes first, so that neither always runs right after a load.
            engines = ("hearth", "llama.cpp") if rnd % 2 == 0 else ("llama.cpp", "hearth")
            for engine in engines:
                if engine == "hearth":
                    cmd = [args.hearth, "bench", "-m", model, "-p", str(args.p), "-n", str(args.n),
                           "-r", str(args.r), "-t", args.t, "--json", "-q"]
                else:
                    cmd = [args.llama_bench, "-m", model, "-p", str(args.p), "-n", str(args.n),
                           "-r", str(args.r), "-t", args.t, "-o", "json"]
                    if args.peer_load_modes:
                        cmd += ["-lm", args.peer_load_modes]
                print(f"round {rnd + 1}/{args.rounds}: running {engine} on {os.path.basename(model)} …",
                      file=sys.stderr)
                for row in run_json(cmd):
                    rows.append({"engine": engine, "round": rnd + 1, "model": os.path.basename(model),
                                 "test": test_name(row), "threads": row["n_threads"],
                                 "load_mode": row.get("load_mode", ""), "avg_ts": row["avg_ts"],
                                 "stddev_ts": row.get("stddev_ts", 0.0),
                                 "samples_ts": row.get("samples_ts") or [row["avg_ts"]],
                                 "gbps": row.get("gbps"), "pct_bandwidth": row.get("pct_bandwidth")})

    # Every repetition of every round, per engine (and per llama.cpp load mode: the peer is
    # taken at its best mode by median).
    samples = {}
    for r in rows:
        key = (r["model"], r["test"], r["threads"])
        variant = (r["engine"], r["load_mode"] if r["engine"] == "llama.cpp" else "")
        samples.setdefault(key, {}).setdefault(variant, []).extend(r["samples_ts"])
    gbps = {}
    for r in rows:
        if r["engine"] == "hearth" and r.get("gbps"):
            gbps.setdefault((r["model"], r["test"], r["threads"]), []).append((r["gbps"], r.get("pct_bandwidth")))

    print("t/s: median [min – max] over all repetitions of all rounds; ratio of medians")
    print("| model | test | threads | hearth t/s | llama.cpp t/s (best -lm) | ratio | hearth GB/s | % bw |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for key, variants in samples.items():
        model, test, threads = key
        h = variants.get(("hearth", ""))
        peers = [(statistics.median(v), mode, v) for (eng, mode), v in variants.items() if eng == "llama.cpp"]
        best = max(peers) if peers else None
        fmt = lambda v: f"{statistics.median(v):.2f} [{min(v):.2f} – {max(v):.2f}]" if v else "–"
        ratio = f"{statistics.median(h) / best[0]:.2f}×" if h and best and best[0] > 0 else "–"
        peer = f"{fmt(best[2])} ({best[1] or 'default'})" if best else "–"
        g = gbps.get(key)
        gb = f"{statistics.median(x[0] for x in g):.2f}" if g else ""
        pcts = [x[1] for x in g or [] if x[1]]
        pct = f"{statistics.median(pcts):.1f}" if pcts else ""
        print(f"| {model} | {test} | {threads} | {fmt(h)} | {peer} | {ratio} | {gb} | {pct} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
