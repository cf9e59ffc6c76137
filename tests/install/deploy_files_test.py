#!/usr/bin/env python3
"""Checks the files in deploy/ that cannot run here: the Kubernetes manifests parse as YAML and
say what docs/deploy.md promises (probes on /health and /ready, memory sized from `hearth fit`,
an HPA on a metric hearth exports, a PVC), the Dockerfile is multi-stage with a non-root user and
a HEALTHCHECK whose command is run against a real server (hadolint too where installed), the
package's maintainer scripts are valid sh, and nginx accepts the balancer configuration
(`nginx -t`, where nginx is installed).

    deploy_files_test.py SOURCE_DIR HEARTH_BINARY

Exits 77 (skipped) when PyYAML is missing."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

source, hearth = sys.argv[1], sys.argv[2]
deploy = os.path.abspath(os.path.join(source, "deploy"))
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print(f"not ok - {message}")


def quantity_bytes(q):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?)?", str(q))
    if not m:
        raise ValueError(f"bad quantity {q!r}")
    return float(m.group(1)) * units.get(m.group(2) or "", 1)


# ---- Kubernetes -------------------------------------------------------------------------------
try:
    import yaml
except ImportError:
    print("deploy files: PyYAML (python3-yaml) not found; skipping")
    sys.exit(77)

with open(os.path.join(deploy, "kubernetes", "hearth.yaml")) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
kinds = {d["kind"]: d for d in docs}
for d in docs:
    check("apiVersion" in d and "metadata" in d and "name" in d["metadata"], f"incomplete object: {d.get('kind')}")
for kind in ("PersistentVolumeClaim", "Deployment", "Service", "HorizontalPodAutoscaler"):
    check(kind in kinds, f"no {kind}")

deployment = kinds["Deployment"]
pod = deployment["spec"]["template"]["spec"]
container = pod["containers"][0]
check(container["livenessProbe"]["httpGet"]["path"] == "/health", "liveness probe is not /health")
check(container["readinessProbe"]["httpGet"]["path"] == "/ready", "readiness probe is not /ready")
check(pod["securityContext"].get("runAsNonRoot") is True, "pods may run as root")
check(any(v.get("persistentVolumeClaim", {}).get("claimName") == kinds["PersistentVolumeClaim"]["metadata"]["name"]
          for v in pod["volumes"]), "the Deployment does not mount the PVC")
check(deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items(),
      "selector does not match the pod labels")
check(kinds["Service"]["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items(),
      "the Service selects no pod of the Deployment")

# The arguments are `hearth serve` flags; the memory request covers what `hearth fit` predicts.
args = container["args"]
check(args[0] == "serve", f"container args do not start with serve: {args}")
flag = lambda name: args[args.index(name) + 1]
model, ctx, parallel = flag("-m"), flag("-c"), flag("--parallel")
fit = subprocess.run([hearth, "fit", "-m", model, "--quant", "Q4_K_M", "-c", ctx, "--parallel", parallel, "--json"],
                     capture_output=True, text=True)
check(fit.returncode == 0, f"hearth fit failed: {fit.stderr}")
if fit.returncode == 0:
    need = json.loads(fit.stdout)["total_bytes"]
    request = quantity_bytes(container["resources"]["requests"]["memory"])
    limit = quantity_bytes(container["resources"]["limits"]["memory"])
    check(need <= request <= limit, f"memory request {request:.0f} / limit {limit:.0f} vs hearth fit's {need}")
    print(f"ok - memory request {request / 2**30:.2f} GiB >= hearth fit's {need / 2**30:.2f} GiB")
check(pod.get("terminationGracePeriodSeconds", 30) > 10, "no time for the 10 s drain")

# The autoscaler's metric is one /metrics exports (its name in serve/metrics.cpp).
hpa_metric = kinds["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]["metric"]["name"]
with open(os.path.join(source, "src", "serve", "metrics.cpp")) as f:
    check(f'"{hpa_metric} ' in f.read(), f"the HPA scales on {hpa_metric}, which /metrics does not export")

# ---- Dockerfile ---------------------------------------------------------------------------------
dockerfile = os.path.join(deploy, "Dockerfile")
with open(dockerfile) as f:
    text = f.read()
instructions = []
for line in re.sub(r"\\\n", " ", text).splitlines():
    line = line.strip()
    if line and not line.startswith("#"):
        instructions.append((line.split()[0].upper(), line))
known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR",
         "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
for keyword, line in instructions:
    check(keyword in known and line.split()[0].isupper(), f"Dockerfile: unknown instruction: {line}")
first = next(k for k, _ in instructions if k != "ARG")
check(first == "FROM", "Dockerfile does not start with FROM")
stages = [i for i, (k, _) in enumerate(instructions) if k == "FROM"]
check(len(stages) >= 2, "Dockerfile is not multi-stage")
final = instructions[stages[-1]:]
users = [line.split()[1] for k, line in final if k == "USER"]
check(bool(users) and users[-1].split(":")[0] not in ("root", "0"), "the runtime stage runs as root")
check(any(k == "HEALTHCHECK" for k, _ in final), "no HEALTHCHECK in the runtime stage")
for k, line in final:
    if k in ("CMD", "ENTRYPOINT") or (k == "HEALTHCHECK" and " CMD [" in line):
        check(json.loads(line[line.index("["):]) is not None, f"not a JSON exec form: {line}")
# The HEALTHCHECK command itself, against a real server (its port in place of 8080), then a dead one.
health = next(line for k, line in final if k == "HEALTHCHECK")
health_cmd = json.loads(health[health.index("["):])
check(health_cmd[:2] == ["bash", "-c"] and "8080" in health_cmd[2], f"unexpected HEALTHCHECK: {health}")
with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "tiny.gguf")
    subprocess.run([hearth, "synth", "--preset", "tiny", "--type", "F32", "-o", model], check=True, capture_output=True)
    server = subprocess.Popen([hearth, "serve", "-m", model, "--port", "0", "--json", "-t", "1", "--api-key", "k",
                               "--no-access-log"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = json.loads(server.stdout.readline())["port"]
        probe = health_cmd[2].replace("8080", str(port))
        check(subprocess.run(["bash", "-c", probe]).returncode == 0, "HEALTHCHECK fails on a healthy server")
    finally:
        server.terminate()
        server.wait(timeout=30)
    check(subprocess.run(["bash", "-c", probe], stderr=subprocess.DEVNULL).returncode != 0,
          "HEALTHCHECK passes with no server")
print("ok - the HEALTHCHECK command tells a live server from a stopped one")
# The host's build folders must not reach the image (their CMakeCache.txt names host paths).
with open(os.path.join(source, ".dockerignore")) as f:
    check("build*/" in f.read().split(), ".dockerignore does not leave out build*/")
if shutil.which("hadolint"):
    r = subprocess.run(["hadolint", dockerfile], capture_output=True, text=True)
    check(r.returncode == 0, f"hadolint: {r.stdout}{r.stderr}")
else:
    print("hadolint not found: Dockerfile checked by this script only")

# ---- the Debian package's maintainer scripts: at least valid sh ----------------------------------
for script in ("postinst", "postrm"):
    path = os.path.join(source, "cmake", "deb", script)
    check(os.access(path, os.X_OK), f"{script} is not executable")
    check(subprocess.run(["sh", "-n", path]).returncode == 0, f"{script}: sh syntax error")

# ---- nginx --------------------------------------------------------------------------------------
nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
if nginx:
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"pid {tmp}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
                    f"http {{\n access_log off;\n client_body_temp_path {tmp};\n proxy_temp_path {tmp};\n"
                    f" include {os.path.join(deploy, 'nginx', 'hearth.conf')};\n}}\n")
        r = subprocess.run([nginx, "-t", "-q", "-e", "stderr", "-p", tmp, "-c", conf], capture_output=True, text=True)
        check(r.returncode == 0, f"nginx -t: {r.stderr}")
        if r.returncode == 0:
            print("ok - nginx -t accepts deploy/nginx/hearth.conf")
else:
    print("nginx not found: deploy/nginx/hearth.conf not checked")

if failures:
    sys.exit(1)
print("deploy files: all passed")
