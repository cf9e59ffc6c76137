#!/usr/bin/env python3
"""bench/compare_llamacpp.py with two fake engines: checks that --rounds pools every repetition,
that the peer is taken at its best load mode by median, that the engines alternate which goes
first, and that a failing engine stops the script with its command named.

Usage: compare_llamacpp_test.py  (exit 0 when every check passes)"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bench", "compare_llamacpp.py")

# A fake engine: appends its name to a log, prints JSON rows with fixed samples per thread count
# (hearth: one row per test; llama-bench: one row per test and load mode).
FAKE = r'''#!/usr/bin/env python3
import json, os, sys
name = os.path.basename(sys.argv[0])
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(name + "\n")
if os.environ.get("FAKE_FAIL") == name:
    sys.exit(3)
args = sys.argv[1:]
threads = [int(t) for t in args[args.index("-t") + 1].split(",")]
rows = []
for t in threads:
    if name == "hearth":
        rows.append({"n_prompt": 0, "n_gen": 16, "n_threads": t, "avg_ts": 20.0 * t,
                     "samples_ts": [10.0 * t, 20.0 * t, 30.0 * t], "gbps": 5.0 * t, "pct_bandwidth": 50.0})
    else:
        for mode, base in (("mmap", 8.0), ("none", 10.0)):
            rows.append({"n_prompt": 0, "n_gen": 16, "n_threads": t, "load_mode": mode, "avg_ts": base * t,
                         "samples_ts": [base * t, base * t, base * t]})
print("log line before the JSON")
print(json.dumps(rows))
'''


def run(tmp, extra_env=None, rounds=2):
    env = dict(os.environ, FAKE_LOG=os.path.join(tmp, "log"), **(extra_env or {}))
    open(env["FAKE_LOG"], "w").close()
    cmd = [sys.executable, SCRIPT, "--llama-bench", os.path.join(tmp, "llama-bench"),
           "--hearth", os.path.join(tmp, "hearth"), "-p", "0", "-n", "16", "-r", "3", "-t", "1,2",
           "--rounds", str(rounds), "--json", os.path.join(tmp, "rows.json"), "model.gguf"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    with open(env["FAKE_LOG"]) as f:
        order = f.read().split()
    return proc, order


def main():
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("hearth", "llama-bench"):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(FAKE)
            os.chmod(path, 0o755)

        proc, order = run(tmp)
        check(proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}")
        check(order == ["hearth", "llama-bench", "llama-bench", "hearth"], f"engine order {order}")
        lines = [l for l in proc.stdout.splitlines() if l.startswith("| model.gguf")]
        check(len(lines) == 2, f"two table rows expected, got {lines}")
        if len(lines) == 2:
            cells = [c.strip() for c in lines[1].strip("|").split("|")]
            # 2 threads: hearth samples 20, 40, 60 (twice) → median 40; peer best mode "none" → 20.
            check(cells[2] == "2", f"threads cell {cells}")
            check(cells[3] == "40.00 [20.00 – 60.00]", f"hearth cell {cells[3]}")
            check(cells[4] == "20.00 [20.00 – 20.00] (none)", f"peer cell {cells[4]}")
            check(cells[5] == "2.00×", f"ratio cell {cells[5]}")
            check(cells[6] == "10.00" and cells[7] == "50.0", f"bandwidth cells {cells[6:]}")
        with open(os.path.join(tmp, "rows.json")) as f:
            rows = json.load(f)
        check(len(rows) == 2 * (2 + 4), f"raw rows: {len(rows)}")
        check({r["round"] for r in rows} == {1, 2}, "rounds recorded in the raw rows")

        proc, _ = run(tmp, {"FAKE_FAIL": "llama-bench"}, rounds=1)
        check(proc.returncode != 0, "a failing peer must fail the script")
        check("llama-bench" in proc.stderr and "failed (3)" in proc.stderr, f"error names the command: {proc.stderr}")

    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
