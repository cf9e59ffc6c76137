#!/usr/bin/env bash
# Two `hearth serve` replicas behind Debian's nginx with the shipped configuration
# (deploy/nginx/hearth.conf, ports filled in), driven by the official openai client
# (balancer.mjs): requests reach both replicas, a session key keeps a conversation on one, a
# stream arrives through the balancer while it is generated, a draining replica (SIGTERM) stops
# getting traffic without failing a request, and each replica's /metrics counts what it served.
#
#   tests/integration/serve/balancer.sh HEARTH_BINARY WORK_DIR
#
# Exits 77 (ctest: skipped) without nginx, node or npm, or when npm cannot install.
set -euo pipefail
hearth=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../../.." && pwd)

nginx=$(command -v nginx || true)
[ -n "$nginx" ] || [ ! -x /usr/sbin/nginx ] || nginx=/usr/sbin/nginx
[ -n "$nginx" ] || { echo "balancer integration: nginx not found; skipping"; exit 77; }
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "balancer integration: $tool not found; skipping"; exit 77; }
done

mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/balancer.mjs" "$work/"
if [ ! -d "$work/node_modules/openai" ] || [ ! -d "$work/node_modules/parse-prometheus-text-format" ] ||
   ! cmp -s "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy" 2>/dev/null; then
    if ! (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
        cat "$work/npm.log" >&2
        echo "balancer integration: npm ci failed (no registry?); skipping"
        exit 77
    fi
    cp "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy"
fi

shared=${HEARTH_SHARED_DIR:-$source_dir/../shared}
model=$shared/models/stories260K.gguf
if [ ! -f "$model" ]; then
    model=$work/tiny.gguf
    [ -f "$model" ] || "$hearth" synth --preset tiny --type F32 -o "$model" >/dev/null
fi

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_replica NAME: sets $replica_url, $replica_port and $replica_pid.
start_replica() {
    local log=$work/$1
    "$hearth" serve -m "$model" --port 0 --json -t 1 --parallel 2 -c 4096 --alias stories >"$log.out" 2>"$log.err" &
    replica_pid=$!
    pids+=("$replica_pid")
    for _ in $(seq 1 200); do
        grep -q '"port"' "$log.out" 2>/dev/null && break
        sleep 0.05
    done
    replica_port=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]).port)' "$log.out")
    [ -n "$replica_port" ] || { cat "$log.err" >&2; fail "replica $1 did not start"; }
    replica_url=http://127.0.0.1:$replica_port
}
start_replica a
a_url=$replica_url a_port=$replica_port a_pid=$replica_pid
start_replica b
b_url=$replica_url b_port=$replica_port

# nginx on a free port, with the shipped server/upstream blocks and only the addresses changed.
nginx_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
conf_dir=$work/nginx
rm -rf "$conf_dir"
mkdir -p "$conf_dir"
sed -e "s/server 127.0.0.1:8081 /server 127.0.0.1:$a_port /" -e "s/server 127.0.0.1:8082 /server 127.0.0.1:$b_port /" \
    -e "s/listen 8080;/listen 127.0.0.1:$nginx_port;/" "$source_dir/deploy/nginx/hearth.conf" >"$conf_dir/hearth.conf"
grep -q "127.0.0.1:$a_port " "$conf_dir/hearth.conf" && grep -q "127.0.0.1:$b_port " "$conf_dir/hearth.conf" &&
    grep -q "listen 127.0.0.1:$nginx_port;" "$conf_dir/hearth.conf" || fail "the shipped nginx config changed shape"
cat >"$conf_dir/nginx.conf" <<CONF
daemon off;
pid $conf_dir/nginx.pid;
error_log $conf_dir/error.log warn;
events {}
http {
    access_log $conf_dir/access.log;
    client_body_temp_path $conf_dir/body;
    proxy_temp_path $conf_dir/proxy;
    include $conf_dir/hearth.conf;
}
CONF
"$nginx" -e "$conf_dir/error.log" -p "$conf_dir" -c "$conf_dir/nginx.conf" &
pids+=($!)
for _ in $(seq 1 100); do
    node -e 'require("net").connect(process.argv[1], "127.0.0.1").on("connect", () => process.exit(0)).on("error", () => process.exit(1))' \
        "$nginx_port" && break
    sleep 0.05
done
balancer=http://127.0.0.1:$nginx_port

(cd "$work" && node balancer.mjs "$balancer" "$a_url" "$b_url" "$a_pid") || {
    echo "--- nginx error.log" >&2; tail -n 20 "$conf_dir/error.log" >&2
    echo "--- replica a stderr (last lines)" >&2; tail -n 5 "$work/a.err" >&2
    exit 1
}
rc=0
wait "$a_pid" || rc=$?
[ "$rc" = 0 ] || fail "the drained replica exited $rc"
echo "balancer integration: all passed"
