#!/usr/bin/env python3
"""Regenerates the gemma4 goldens of this directory from llama.cpp (see README.md).

usage: make_goldens.py HEARTH DUMP_LOGITS

HEARTH is a built `hearth` binary; DUMP_LOGITS a peer tool built against llama.cpp's libllama
that a person provides (this repository never builds llama.cpp), called as
    DUMP_LOGITS MODEL TOKENS_CSV OUT.f32 THREADS f32 [PROMPT_TOKENS N_GEN]
It must decode TOKENS in one batch (positions 0.., n_ctx = n_batch = n_ubatch = 256, one
sequence, F32 KV cache, flash attention off), write every position's logits as little-endian
float32 rows to OUT.f32, and, when PROMPT_TOKENS and N_GEN are given, decode the first
PROMPT_TOKENS tokens in a fresh context and print N_GEN greedy ids (ties: lowest id), comma
separated, each fed back as a one-token batch.
"""
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEED, POOL_ROWS, N_VOCAB, N_TOKENS, PROMPT, N_GEN = 7, 4096, 512, 48, 8, 32


def logits(dump, model, tokens, out):
    subprocess.run([dump, model, ",".join(map(str, tokens)), out, "2", "f32"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = open(out, "rb").read()
    vals = struct.unpack("<%df" % (len(data) // 4), data)
    return data, [vals[i * N_VOCAB:(i + 1) * N_VOCAB] for i in range(len(tokens))]


def margin(row):
    top = sorted(row, reverse=True)
    return float(top[0] - top[1])


def main():
    hearth, dump = sys.argv[1], sys.argv[2]
    rng = random.Random("tiny-gemma4 tokens")
    tokens = [1] + [rng.randrange(3, N_VOCAB) for _ in range(N_TOKENS - 1)]
    with tempfile.TemporaryDirectory() as tmp:
        for typ in ("F32", "Q8_0"):
            name = f"tiny-gemma4-{typ}"
            model = os.path.join(tmp, name + ".gguf")
            subprocess.run([hearth, "synth", "--preset", "tiny-gemma4", "--type", typ, "--pure", "--seed", str(SEED),
                            "--pool-rows", str(POOL_ROWS), "-q", "-o", model], check=True)
            data, rows = logits(dump, model, tokens, os.path.join(tmp, "all.f32"))
            open(os.path.join(HERE, name + ".logits.llamacpp.f32"), "wb").write(data)
            out = subprocess.run([dump, model, ",".join(map(str, tokens)), os.path.join(tmp, "g.f32"), "2", "f32",
                                  str(PROMPT), str(N_GEN)], check=True, capture_output=True, text=True).stdout
            greedy = [int(x) for x in out.strip().split(",")]
            _, grows = logits(dump, model, tokens[:PROMPT] + greedy[:-1], os.path.join(tmp, "gm.f32"))
            meta = {
                "model": f"hearth synth --preset tiny-gemma4 --type {typ} --pure --seed {SEED} --pool-rows {POOL_ROWS}",
                "seed": SEED, "pool_rows": POOL_ROWS,
                "sha256": hashlib.sha256(open(model, "rb").read()).hexdigest(),
                "tokens": tokens,
                "top1_margin_llamacpp": [margin(r) for r in rows],
                "greedy_prompt_tokens": PROMPT,
                "greedy_ids": greedy,
                "greedy_margin_llamacpp": [margin(r) for r in grows[PROMPT - 1:]],
            }
            with open(os.path.join(HERE, name + ".json"), "w") as f:
                json.dump(meta, f, indent=1)
                f.write("\n")
            print(name, "sha256", meta["sha256"], "greedy", greedy[:8], "...")


if __name__ == "__main__":
    main()
