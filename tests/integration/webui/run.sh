#!/usr/bin/env bash
# Browser test of the web page of `hearth serve` (webui.mjs: Debian's Chromium driven by
# puppeteer-core, axe-core for accessibility; installed with `npm ci` into WORK_DIR from
# package-lock.json). Serves a temporary library holding stories260K under two names, with an
# API key. Screenshots of each state go to ARTEFACTS (build/artefacts/webui).
#
#   tests/integration/webui/run.sh HEARTH_BINARY WORK_DIR ARTEFACTS
#
# Exits 77 (ctest: skipped) without node, npm, chromium or ../shared, or when npm cannot install.
set -euo pipefail
hearth=$1
work=$2
artefacts=$3
here=$(cd "$(dirname "$0")" && pwd)

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "webui browser test: $tool not found; skipping"; exit 77; }
done
chromium=""
for c in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [ -x "$c" ]; then chromium=$c; break; fi
done
[ -n "$chromium" ] || { echo "webui browser test: chromium not installed (scripts/install-deps.sh --test); skipping"; exit 77; }
shared=${HEARTH_SHARED_DIR:-$here/../../../../shared}
model=$shared/models/stories260K.gguf
[ -f "$model" ] || { echo "webui browser test: $model not found (../shared absent); skipping"; exit 77; }

mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/webui.mjs" "$work/"
if [ ! -d "$work/node_modules/puppeteer-core" ] || [ ! -d "$work/node_modules/axe-core" ] ||
   ! cmp -s "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy" 2>/dev/null; then
    # puppeteer-core downloads no browser: it drives the system Chromium.
    if ! (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
        cat "$work/npm.log" >&2
        echo "webui browser test: npm ci failed (no registry?); skipping"
        exit 77
    fi
    cp "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy"
fi

export HEARTH_HOME=$work/home
rm -rf "$HEARTH_HOME" "$artefacts"
mkdir -p "$artefacts"
artefacts=$(cd "$artefacts" && pwd)  # webui.mjs runs in $work
"$hearth" import "$model" stories >/dev/null
"$hearth" import "$model" tale:v2 >/dev/null

server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT
key=webui-test-key
# A registry that cannot be reached: the page's pull fails, quickly, and no test reaches the internet.
HEARTH_REGISTRY=http://127.0.0.1:1 "$hearth" serve --port 0 --json -t 1 -c 4096 --parallel 2 --api-key "$key" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 200); do
    if grep -q '"port"' "$work/server.out" 2>/dev/null; then break; fi
    sleep 0.05
done
url=$(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]); console.log(j.url)' "$work/server.out")
[ -n "$url" ] || { cat "$work/server.err" >&2; echo "FAIL: the server did not start" >&2; exit 1; }

(cd "$work" && node webui.mjs "$url" "$key" "$chromium" "$artefacts" "$server_pid")
echo "screenshots: $artefacts"
