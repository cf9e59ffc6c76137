#!/usr/bin/env python3
"""Bounded soak test of `hearth serve` (loopback only; stops by itself).

  bench/serve_soak.py [--hearth build/bin/hearth] [--model M.gguf] [--requests 1000] [--clients 8]
                      [--models 3 [--budget-models 2]]

Starts the server on a free port with a small model (default ../shared/models/stories260K.gguf,
else a synthetic tiny one), first computes the greedy reference answer of each valid prompt
one at a time, then sends --requests requests from --clients concurrent clients, mixing:

  valid      greedy completions/chat, OpenAI and Ollama, streaming and not: the answer must
             equal the reference (batching must not change results) and the usage counts match
  malformed  broken JSON, wrong types, out-of-range values, unknown model: must be 400/404
  oversized  bodies over --max-body: must be 413
  cancelled  streaming requests whose client hangs up after the first token

It checks that the server stays up, every slot is free at the end, and reports RSS (VmRSS)
after warm-up and at the end; exits 1 on any wrong answer or when RSS grew by more than
--rss-slack-mib.

With --models N (> 1) the model is imported into a temporary library under N names and the
server runs without -m, with --max-memory holding --budget-models of them (from the need its
/api/ps reports), so requests spread over the names force loads and evictions; every answer
must still equal the reference, RSS must stay within the budget plus the start's plus
--rss-slack-mib (threads, malloc arenas), and the
number of distinct loaded sets seen in /api/ps is reported.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_common import Server, machine_note, post, stream_completion  # noqa: E402

PROMPTS = ["Once upon a time", "The little dog", "Tom and Lily went to the park", "One day a girl",
           "The sun was hot and", "Mom said", "A big red ball", "In the forest there was"]
MALFORMED = [
    ("/v1/chat/completions", "{\"messages\": [", 400),
    ("/v1/chat/completions", "[]", 400),
    ("/v1/chat/completions", json.dumps({"messages": "hi"}), 400),
    ("/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "x"}], "temperature": 9}), 400),
    ("/v1/completions", json.dumps({"prompt": "x", "max_tokens": -5}), 400),
    ("/v1/completions", json.dumps({"prompt": "x", "stop": [1, 2]}), 400),
    ("/v1/completions", json.dumps({"prompt": "x", "model": "gpt-17"}), 404),
    ("/api/generate", json.dumps({"prompt": "x", "options": {"num_predict": "many"}}), 400),
    ("/api/chat", json.dumps({"messages": [{"role": "wizard", "content": "x"}]}), 400),
    ("/api/chat", "\xff\xfe garbage", 400),
]


def valid_request(rng, i):
    prompt = PROMPTS[i % len(PROMPTS)]
    kind = rng.choice(["completion", "completion-stream", "ollama-generate"])
    return prompt, kind


def answer(server, prompt, kind, n, model=None):
    named = {"model": model} if model else {}
    if kind == "completion":
        status, j = post(server, "/v1/completions", {**named, "prompt": prompt, "max_tokens": n, "temperature": 0})
        assert status == 200, (status, j)
        assert j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"] + j["usage"]["completion_tokens"]
        return j["choices"][0]["text"], j["usage"]["completion_tokens"]
    if kind == "completion-stream":
        text, usage, _, _ = stream_completion(server, {**named, "prompt": prompt, "max_tokens": n, "temperature": 0})
        return text, usage["completion_tokens"]
    status, j = post(server, "/api/generate",
                     {**named, "prompt": prompt, "raw": True, "stream": False, "options": {"num_predict": n, "temperature": 0}})
    assert status == 200, (status, j)
    return j["response"], j["eval_count"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", default="build/bin/hearth")
    ap.add_argument("--model")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=24)
    ap.add_argument("--max-body", type=int, default=65536)
    ap.add_argument("--rss-slack-mib", type=float, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", type=int, default=1, help="names the model is served under (> 1: the library)")
    ap.add_argument("--budget-models", type=int, default=2, help="with --models: how many fit --max-memory")
    a = ap.parse_args()

    model = a.model
    if not model:
        here = os.path.dirname(os.path.abspath(__file__))
        model = os.path.join(here, "..", "..", "shared", "models", "stories260K.gguf")
        if not os.path.exists(model):
            model = "/tmp/hearth-soak-tiny.gguf"
            subprocess.run([a.hearth, "synth", "--preset", "tiny", "--type", "F32", "-o", model, "-q"], check=True)
    flags = ["--parallel", "4", "--max-queue", "32", "-c", "512", "--max-body", str(a.max_body), "-t", "2"]
    names = [None]
    budget = 0
    if a.models > 1:
        os.environ["HEARTH_HOME"] = tempfile.mkdtemp(prefix="hearth-soak-home-")
        names = [f"soak-{i}" for i in range(a.models)]
        for n in names:
            subprocess.run([a.hearth, "import", model, n], check=True, stdout=subprocess.DEVNULL)
        sizing = Server(a.hearth, None, *flags)
        answer(sizing, PROMPTS[0], "completion", 1, names[0])
        c = sizing.conn(10)
        c.request("GET", "/api/ps")
        need = json.loads(c.getresponse().read())["models"][0]["size"]
        sizing.stop()
        budget = need * a.budget_models + need // 2
        flags += ["--max-memory", str(budget)]
    server = Server(a.hearth, model if a.models == 1 else None, *flags)
    start_rss = server.rss_kib()
    loaded_sets = set()

    def watch_ps():
        c = server.conn(10)
        c.request("GET", "/api/ps")
        loaded_sets.add(tuple(sorted(m["name"] for m in json.loads(c.getresponse().read())["models"])))
        c.close()
    # Raw completions: the Ollama route gets raw=true so all three kinds see the same tokens.
    reference = {}
    for p in PROMPTS:
        reference[p] = answer(server, p, "completion", a.tokens, names[0])
        assert answer(server, p, "ollama-generate", a.tokens, names[0]) == reference[p], "ollama raw != completion"

    counts = {"valid": 0, "malformed": 0, "oversized": 0, "cancelled": 0}
    failures = []
    lock = threading.Lock()
    next_index = [0]
    rss = {}

    def take():
        with lock:
            i = next_index[0]
            next_index[0] += 1
            return i

    def client(cid):
        rng = random.Random(a.seed * 1000 + cid)
        while True:
            i = take()
            if i >= a.requests:
                return
            if i == a.requests // 10:
                rss["warm"] = server.rss_kib()
            roll = rng.random()
            try:
                if roll < 0.55:
                    prompt, kind = valid_request(rng, i)
                    got = answer(server, prompt, kind, a.tokens, rng.choice(names))
                    if got != reference[prompt]:
                        raise AssertionError(f"{kind} {prompt!r}: {got!r} != reference {reference[prompt]!r}")
                    kind_name = "valid"
                elif roll < 0.75:
                    path, body, want = MALFORMED[i % len(MALFORMED)]
                    status, j = post(server, path, body)
                    if status != want:
                        raise AssertionError(f"malformed {body!r}: status {status}, want {want}: {j}")
                    err = j.get("error") if isinstance(j, dict) else None
                    if not err:
                        raise AssertionError(f"malformed {body!r}: no error object: {j}")
                    kind_name = "malformed"
                elif roll < 0.85:
                    big = json.dumps({"prompt": "x" * (a.max_body + 1000)})
                    status, j = post(server, "/v1/completions", big)
                    if status != 413:
                        raise AssertionError(f"oversized: status {status}")
                    kind_name = "oversized"
                else:
                    named = {"model": rng.choice(names)} if names[0] else {}
                    stream_completion(server, {**named, "prompt": PROMPTS[i % len(PROMPTS)], "max_tokens": 400,
                                               "temperature": 1}, on_first=lambda: True)
                    kind_name = "cancelled"
                with lock:
                    counts[kind_name] += 1
                if names[0] and i % 10 == 0:
                    watch_ps()
            except Exception as e:  # noqa: BLE001 - every failure is reported
                with lock:
                    failures.append(f"request {i}: {e}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    alive = server.alive()
    # Cancelled streams free their slots within a few tokens.
    health = None
    for _ in range(100):
        c = server.conn(10)
        c.request("GET", "/health")
        health = json.loads(c.getresponse().read())
        c.close()
        if health["slots_busy"] == 0 and health["queued"] == 0:
            break
        time.sleep(0.1)
    rss["end"] = server.rss_kib()
    rc = server.stop()
    if a.models > 1:
        shutil.rmtree(os.environ["HEARTH_HOME"], ignore_errors=True)  # only manifests: models are imported by reference

    total = sum(counts.values())
    growth_mib = (rss["end"] - rss.get("warm", rss["end"])) / 1024
    print(f"machine: {machine_note()}")
    print(f"model: {os.path.basename(model)}; {a.clients} clients; {total + len(failures)} requests in {wall:.1f} s")
    print("requests: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f"; failures {len(failures)}")
    print(f"server alive after the run: {alive}; slots busy at the end: {health['slots_busy']}; "
          f"exit status after SIGTERM: {rc}")
    print(f"RSS: {rss.get('warm', 0) / 1024:.1f} MiB after warm-up (request {a.requests // 10}), "
          f"{rss['end'] / 1024:.1f} MiB at the end ({growth_mib:+.1f} MiB)")
    within_budget = True
    if budget:
        # The budget counts models; connection threads and malloc arenas come on top (--rss-slack-mib).
        limit_mib = (budget + start_rss * 1024) / 2**20 + a.rss_slack_mib
        within_budget = rss["end"] / 1024 <= limit_mib and rss.get("warm", 0) / 1024 <= limit_mib
        print(f"library: {a.models} names, --max-memory {budget / 2**20:.1f} MiB (holds {a.budget_models}); "
              f"RSS limit (budget + start + slack) {limit_mib:.1f} MiB: {'kept' if within_budget else 'EXCEEDED'}; "
              f"{len(loaded_sets)} distinct loaded sets seen in /api/ps: {sorted(loaded_sets)}")
    for f in failures[:10]:
        print("FAIL:", f)
    ok = (alive and not failures and health["slots_busy"] == 0 and rc == 0 and growth_mib <= a.rss_slack_mib and
          within_budget)
    print("soak:", "passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
