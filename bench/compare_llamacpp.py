#!/usr/bin/env python3
"""Side-by-side speed of hearth and llama.cpp on the same GGUF files, same machine, same run.

Usage:
  bench/compare_llamacpp.py --llama-bench /path/to/llama-bench [--hearth build/bin/hearth]
                            [-p 512] [-n 128] [-r 5] [-t 1,2] MODEL.gguf [MODEL.gguf ...]

Runs each model through `hearth bench --json` and `llama-bench -o json` with the same prompt
and generation lengths, repetitions and thread counts, alternating the two engines per model
so drift in machine load hits both alike. Prints a markdown table with t/s of both, the ratio
hearth / llama.cpp, and hearth's GB/s and % of measured read bandwidth. --json writes the raw
rows too. The peer binary is something you build yourself; this script never builds it.
"""
import argparse
import json
import os
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
    ap.add_argument("--json", help="also write all rows to this file")
    ap.add_argument("--peer-load-modes", default="auto,none",
                    help="llama-bench -lm values to try; each test keeps llama.cpp's fastest (on small VMs "
                         "'none' is often much faster for generation than the default)")
    args = ap.parse_args()

    rows = []
    for model in args.models:
        for engine in ("hearth", "llama.cpp"):
            if engine == "hearth":
                cmd = [args.hearth, "bench", "-m", model, "-p", str(args.p), "-n", str(args.n),
                       "-r", str(args.r), "-t", args.t, "--json", "-q"]
            else:
                cmd = [args.llama_bench, "-m", model, "-p", str(args.p), "-n", str(args.n),
                       "-r", str(args.r), "-t", args.t, "-o", "json"]
                if args.peer_load_modes:
                    cmd += ["-lm", args.peer_load_modes]
            print(f"running {engine} on {os.path.basename(model)} …", file=sys.stderr)
            for row in run_json(cmd):
                rows.append({"engine": engine, "model": os.path.basename(model), "test": test_name(row),
                             "threads": row["n_threads"], "avg_ts": row["avg_ts"],
                             "stddev_ts": row.get("stddev_ts", 0.0), "samples_ts": row.get("samples_ts", []),
                             "gbps": row.get("gbps"), "pct_bandwidth": row.get("pct_bandwidth")})

    print("| model | test | threads | hearth t/s | llama.cpp t/s | ratio | hearth GB/s | % bw |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    keyed = {}
    for r in rows:  # several llama.cpp load modes: the peer at its best
        slot = keyed.setdefault((r["model"], r["test"], r["threads"]), {})
        if r["engine"] not in slot or r["avg_ts"] > slot[r["engine"]]["avg_ts"]:
            slot[r["engine"]] = r
    for (model, test, threads), pair in keyed.items():
        h, l = pair.get("hearth"), pair.get("llama.cpp")
        ratio = f"{h['avg_ts'] / l['avg_ts']:.2f}×" if h and l and l["avg_ts"] > 0 else "–"
        fmt = lambda r: f"{r['avg_ts']:.2f} ± {r['stddev_ts']:.2f}" if r else "–"
        gbps = f"{h['gbps']:.2f}" if h and h.get("gbps") else ""
        pct = f"{h['pct_bandwidth']:.1f}" if h and h.get("pct_bandwidth") else ""
        print(f"| {model} | {test} | {threads} | {fmt(h)} | {fmt(l)} | {ratio} | {gbps} | {pct} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
