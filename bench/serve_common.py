"""Shared helpers of the `hearth serve` bench scripts: start a server on a free loopback port,
send requests with http.client (standard library only), read SSE streams, read RSS."""
import http.client
import json
import os
import subprocess
import time


class Server:
    """`hearth serve` on a free loopback port; stop() sends SIGTERM and returns the exit code."""

    def __init__(self, hearth, model, *args):
        which = ["-m", model] if model else []  # no model: the library ($HEARTH_HOME), loaded on demand
        self.proc = subprocess.Popen([hearth, "serve", *which, "--port", "0", "--json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("hearth serve did not start: " + self.proc.stderr.read())
        info = json.loads(line)
        self.port = info["port"]
        self.model = info["model"]

    def conn(self, timeout=600):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=60):
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


def post(server, path, body, headers=None, timeout=600):
    """POST a JSON body (dict or raw str/bytes); returns (status, parsed JSON or raw text)."""
    c = server.conn(timeout)
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    c.request("POST", path, data, {"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    raw = r.read().decode("utf-8", "replace")
    c.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw


def stream_completion(server, body, on_first=None):
    """Streams /v1/completions; returns (text, usage, t_first_token, t_end) with times in
    seconds from the request. Stops reading early when on_first() returns True (a client that
    hangs up), then returns what it had."""
    c = server.conn()
    t0 = time.perf_counter()
    c.request("POST", "/v1/completions", json.dumps({**body, "stream": True, "stream_options": {"include_usage": True}}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raw = r.read().decode("utf-8", "replace")
        c.close()
        raise RuntimeError(f"status {r.status}: {raw}")
    text, usage, t_first = "", None, None
    for line in r:
        line = line.decode("utf-8", "replace").strip()
        if not line.startswith("data: "):
            continue
        payload = line[6:]
        if payload == "[DONE]":
            break
        chunk = json.loads(payload)
        if chunk.get("usage"):
            usage = chunk["usage"]
        for ch in chunk.get("choices", []):
            if ch.get("text"):
                if t_first is None:
                    t_first = time.perf_counter() - t0
                text += ch["text"]
        if t_first is not None and on_first and on_first():
            break
    c.close()
    return text, usage, t_first, time.perf_counter() - t0


def machine_note():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.1f} at start"
