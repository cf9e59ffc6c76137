#!/usr/bin/env python3
"""hearth's embeddings against llama.cpp's on the same GGUF file and texts: the cosine distance
(1 - cos) per input, and the largest absolute difference of a component.

Usage:
  bench/compare_embeddings.py --llama-embedding /path/to/llama-embedding [--hearth build/bin/hearth]
                              [--pooling mean|cls|last] [--kv f16|f32] [-c 512] MODEL.gguf TEXT [TEXT ...]

Runs `llama-embedding --embd-output-format json --embd-normalize 2` (one line per text, all in
one call, so its batching is exercised too; a padding line goes last, see below) and
`hearth embed --json` with one -p per text.
--pooling is passed to llama.cpp (needed for a file that names none: hearth then uses mean);
hearth always takes the file's rule. llama.cpp prints 7 decimals, so distances below ~1e-7
are at its print precision. The peer binary is something you build yourself; this script
never builds it.
"""
import argparse
import json
import math
import re
import subprocess
import sys


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return proc.stdout


def cosine_distance(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return 1.0 - dot / (na * nb)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-embedding", required=True)
    ap.add_argument("--hearth", default="build/bin/hearth")
    ap.add_argument("--pooling", default=None, help="passed to llama-embedding --pooling")
    ap.add_argument("--kv", default="f16", choices=["f16", "f32"])
    ap.add_argument("-c", "--ctx", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("model")
    ap.add_argument("texts", nargs="+")
    args = ap.parse_args()
    if any("\n" in t for t in args.texts):
        sys.exit("texts must be single lines (llama-embedding splits its prompt at newlines)")

    llama = [args.llama_embedding, "-m", args.model, "-p", "\n".join(args.texts + ["padding"]),
             "--embd-output-format", "json",
             "--embd-normalize", "2", "-c", str(args.ctx), "-t", str(args.threads), "-ctk", args.kv, "-ctv", args.kv]
    if args.pooling:
        llama += ["--pooling", args.pooling]
    # llama-embedding prints through its asynchronous log thread, which often loses the last
    # few dozen bytes at exit (seen with llama.cpp de3ff81, with a pipe or a file). So a padding
    # input goes last, the complete arrays are read with a pattern, and a short read is retried.
    for _ in range(10):
        out = run(llama)
        theirs = [[float(x) for x in m.split(",")] for m in re.findall(r'"embedding": \[([^\]]*)\]', out)]
        if len(theirs) >= len(args.texts):
            theirs = theirs[:len(args.texts)]
            break
    else:
        sys.exit(f"llama-embedding printed fewer than {len(args.texts)} vectors:\n{out[-2000:]}")

    hearth = [args.hearth, "embed", "-m", args.model, "--json", "-c", str(args.ctx), "-t", str(args.threads),
              "--kv-type", args.kv]
    for t in args.texts:
        hearth += ["-p", t]
    ours = json.loads(run(hearth))

    if len(theirs) != len(ours["embeddings"]):
        sys.exit(f"llama.cpp gave {len(theirs)} vectors, hearth {len(ours['embeddings'])}")
    rows = []
    for i, (a, b) in enumerate(zip(ours["embeddings"], theirs)):
        if len(a) != len(b):
            sys.exit(f"input {i}: hearth dim {len(a)}, llama.cpp dim {len(b)}")
        rows.append({"input": i, "cosine_distance": cosine_distance(a, b),
                     "max_abs_diff": max(abs(x - y) for x, y in zip(a, b))})
    print(json.dumps({"model": args.model, "pooling": ours["pooling"], "dim": ours["dim"], "kv": args.kv,
                      "rows": rows, "worst_cosine_distance": max(r["cosine_distance"] for r in rows)}, indent=2))


if __name__ == "__main__":
    main()
