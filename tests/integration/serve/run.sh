#!/usr/bin/env bash
# Integration test of `hearth serve`: starts it on a free loopback port with a tiny synthetic
# model, drives it with curl (errors, auth, body limit, SSE framing, 503 on a full queue,
# client disconnects, SIGTERM) and with the official `openai` and `ollama` npm packages
# (test.mjs; tools.mjs for tool calling, structured.mjs for response_format / format, with ajv
# validating answers; metrics.mjs parses GET /metrics with parse-prometheus-text-format;
# models.mjs for serving the library without -m; installed with `npm ci` into WORK_DIR from
# package-lock.json). Also /ready while draining and the JSON access log.
#
#   tests/integration/serve/run.sh HEARTH_BINARY WORK_DIR
#
# Exits 77 (ctest: skipped) when node, npm or curl is missing or npm cannot install.
set -euo pipefail
hearth=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)

for tool in node npm curl; do
    command -v "$tool" >/dev/null || { echo "serve integration: $tool not found; skipping"; exit 77; }
done

mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/test.mjs" "$here/tools.mjs" "$here/structured.mjs" \
    "$here/metrics.mjs" "$here/models.mjs" "$work/"
if [ ! -d "$work/node_modules/openai" ] || [ ! -d "$work/node_modules/ollama" ] || [ ! -d "$work/node_modules/ajv" ] ||
   [ ! -d "$work/node_modules/parse-prometheus-text-format" ] ||
   ! cmp -s "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy" 2>/dev/null; then
    if ! (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
        cat "$work/npm.log" >&2
        echo "serve integration: npm ci failed (no registry?); skipping"
        exit 77
    fi
    cp "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy"
fi

# The real tiny stories260K model writes readable text (stop strings are then easy to pick);
# without ../shared a synthetic model with random weights stands in.
shared=${HEARTH_SHARED_DIR:-$here/../../../../shared}
model=$shared/models/stories260K.gguf
if [ ! -f "$model" ]; then
    model=$work/tiny.gguf
    [ -f "$model" ] || "$hearth" synth --preset tiny --type F32 -o "$model" >/dev/null
fi
# A chat template of our own (the model has none), given with --chat-template-file.
printf '%s' '{% for m in messages %}{{ m.role }}: {{ m.content }}
{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}' >"$work/template.jinja"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# start_server LOGFILE ARGS... : starts hearth serve on a free port; sets $url and $server_pid.
# Serves $model unless the arguments start with --library (then: the library, no -m).
start_server() {
    local log=$1
    shift
    local which=(-m "$model")
    if [ "${1:-}" = --library ]; then which=(); shift; fi
    "$hearth" serve "${which[@]}" --port 0 --json -t 1 "$@" >"$log.out" 2>"$log.err" &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 1 200); do
        if grep -q '"port"' "$log.out" 2>/dev/null; then break; fi
        sleep 0.05
    done
    url=$(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]); console.log(j.url)' "$log.out")
    [ -n "$url" ] || { cat "$log.err" >&2; echo "FAIL: the server did not start" >&2; exit 1; }
}

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_status WANT METHOD PATH [curl args...]: checks the HTTP status; body in $body.
# request METHOD PATH [curl args...]: sets $status and $body.
request() {
    local method=$1 path=$2
    shift 2
    local out
    # JSON content type: curl -d would say form-urlencoded, which httplib limits to 8 KiB.
    out=$(curl -sS -X "$method" -H 'Content-Type: application/json' -w '\n%{http_code}' "$@" "$url$path")
    body=$(printf '%s' "$out" | sed '$d')
    status=$(printf '%s' "$out" | tail -n1)
}
expect_status() {
    local want=$1 method=$2 path=$3
    shift 3
    request "$method" "$path" "$@"
    [ "$status" = "$want" ] || fail "$method $path: status $status, want $want; body: $body"
}
json_field() { node -e 'const j = JSON.parse(process.argv[1]); console.log(eval("j" + process.argv[2]))' "$1" "$2"; }
json_expr() { node -e 'const j = JSON.parse(process.argv[1]); console.log(eval(process.argv[2]))' "$1" "$2"; }

key=test-key-123
auth=(-H "Authorization: Bearer $key")
start_server "$work/main" --api-key "$key" --alias tiny --parallel 4 -c 256 --max-body 65536 \
    --chat-template-file "$work/template.jinja"

# ---- curl: auth, errors, framing ----------------------------------------------------------------
expect_status 200 GET /health
expect_status 401 GET /v1/models
[ "$(json_field "$body" '.error.code')" = invalid_api_key ] || fail "401 body: $body"
expect_status 401 POST /api/chat -H "Authorization: Bearer wrong" -d '{}'
[ "$(json_field "$body" '.error')" != undefined ] || fail "ollama 401 body: $body"
expect_status 200 GET /v1/models "${auth[@]}"
[ "$(json_field "$body" '.data[0].id')" = tiny ] || fail "models: $body"
expect_status 400 POST /v1/chat/completions "${auth[@]}" -d '{"messages": [}'
[ "$(json_field "$body" '.error.type')" = invalid_request_error ] || fail "bad JSON body: $body"
expect_status 400 POST /v1/chat/completions "${auth[@]}" -d '{"messages":[{"role":"user","content":"x"}],"max_tokens":"5"}'
expect_status 400 POST /v1/completions "${auth[@]}" -d '{"prompt":"x","top_p":3}'
expect_status 404 POST /v1/chat/completions "${auth[@]}" -d '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}'
[ "$(json_field "$body" '.error.code')" = model_not_found ] || fail "unknown model: $body"
expect_status 400 POST /api/generate "${auth[@]}" -d '{"prompt":"x","options":{"num_ctx":"big"}}'
[ "$(json_expr "$body" 'typeof j.error')" = string ] || fail "ollama error shape: $body"
# num_ctx above the slot context (-c 256) is refused, not silently ignored.
expect_status 400 POST /api/generate "${auth[@]}" -d '{"prompt":"x","options":{"num_ctx":100000}}'
[ "$(json_expr "$body" '/num_ctx/.test(j.error)')" = true ] || fail "num_ctx: $body"
expect_status 200 POST /api/generate "${auth[@]}" -d '{"prompt":"x","stream":false,"options":{"num_ctx":128,"num_predict":1}}'
# A prompt longer than the context (256 tokens per slot) is refused, never truncated.
long=$(head -c 6000 /dev/zero | tr '\0' 'a' | sed 's/a/word /g')
expect_status 400 POST /v1/completions "${auth[@]}" -d "{\"prompt\":\"$long\"}"
[ "$(json_field "$body" '.error.code')" = context_length_exceeded ] || fail "long prompt: $body"
# Body over --max-body.
head -c 70000 /dev/zero | tr '\0' 'x' >"$work/big.txt"
expect_status 413 POST /v1/completions "${auth[@]}" --data-binary "@$work/big.txt"
expect_status 404 GET /no/such/route "${auth[@]}"
# Non-streaming completion with exact usage.
expect_status 200 POST /v1/completions "${auth[@]}" -d '{"prompt":"Once upon","max_tokens":5,"temperature":0}'
[ "$(json_field "$body" '.usage.completion_tokens')" -le 5 ] || fail "usage: $body"
# SSE framing: data: lines, a [DONE] at the end.
sse=$(curl -sS -N "${auth[@]}" "$url/v1/chat/completions" \
      -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":6,"temperature":0,"stream":true}')
printf '%s\n' "$sse" | grep -q '^data: {"id":"chatcmpl-' || fail "SSE chunks: $sse"
[ "$(printf '%s\n' "$sse" | grep -v '^$' | tail -n1)" = "data: [DONE]" ] || fail "SSE end: $sse"
# NDJSON framing: one object per line, the last with done true.
nd=$(curl -sS -N "${auth[@]}" "$url/api/generate" -d '{"prompt":"Hi","options":{"num_predict":4,"temperature":0}}')
[ "$(printf '%s\n' "$nd" | tail -n1 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).done))')" = true ] ||
    fail "NDJSON end: $nd"
expect_status 200 GET /api/version "${auth[@]}"
echo "ok - curl checks"

# ---- the official clients ----------------------------------------------------------------------
(cd "$work" && node test.mjs "$url" "$key" tiny)
# The repeated chats above were served from the prompt cache.
expect_status 200 GET /health
[ "$(json_expr "$body" 'j.cache.enabled && j.cache.hits > 0 && j.cache.cached_tokens_total > 0')" = true ] ||
    fail "health cache: $body"

# ---- metrics and the access log -------------------------------------------------------------------
(cd "$work" && node metrics.mjs "$url" "$key" tiny)
# One JSON line per request on stderr; a generation's names its model and tokens.
log_line=$(grep '"route":"/v1/completions","status":200' "$work/main.err" | head -n1)
[ "$(json_expr "$log_line" 'j.model === "tiny" && j.prompt_tokens > 0 && j.completion_tokens > 0 && j.duration_ms >= 0 && /Z$/.test(j.time)')" = true ] ||
    fail "access log line: $log_line"
grep -q '"route":"/v1/models","status":401' "$work/main.err" || fail "401s are logged too"
# --metrics-public: /metrics without the key (other routes still need it); --no-access-log: silent.
start_server "$work/public" --parallel 1 -c 256 --api-key other-key --metrics-public --no-access-log
public_pid=$server_pid
expect_status 200 GET /metrics
printf '%s\n' "$body" | grep -q '^hearth_slots 1$' || fail "public metrics: $body"
expect_status 401 GET /v1/models
kill "$public_pid"
wait "$public_pid" 2>/dev/null || true
! grep -q '"route"' "$work/public.err" || fail "--no-access-log still logged: $(cat "$work/public.err")"
echo "ok - metrics and access log"

# ---- reasoning: a template that opens <think> itself (as Qwen3.5's does) -------------------------
# The tiny model never writes </think>, so its whole reply is reasoning and the answer is empty.
printf '%s' '{% for m in messages %}{{ m.role }}: {{ m.content }}
{% endfor %}{% if add_generation_prompt %}assistant: <think>
{% endif %}' >"$work/think.jinja"
start_server "$work/think" --parallel 1 -c 256 --chat-template-file "$work/think.jinja"
think_pid=$server_pid
expect_status 200 POST /v1/chat/completions -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"temperature":0}'
[ "$(json_expr "$body" 'j.choices[0].message.reasoning_content.length > 0 && j.choices[0].message.content === ""')" = true ] ||
    fail "reasoning_content: $body"
sse=$(curl -sS -N "$url/v1/chat/completions" \
      -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"temperature":0,"stream":true}')
printf '%s\n' "$sse" | grep -q '"reasoning_content":' || fail "streamed reasoning: $sse"
expect_status 200 POST /api/chat -d '{"messages":[{"role":"user","content":"Hi"}],"stream":false,"options":{"num_predict":8,"temperature":0}}'
[ "$(json_expr "$body" 'j.message.thinking.length > 0')" = true ] || fail "ollama thinking: $body"
expect_status 200 POST /api/chat -d '{"messages":[{"role":"user","content":"Hi"}],"stream":false,"think":false,"options":{"num_predict":8,"temperature":0}}'
[ "$(json_expr "$body" 'j.message.thinking === undefined')" = true ] || fail "think false still thinks: $body"
kill "$think_pid"
echo "ok - reasoning"

# ---- tool calling: a template that takes tools and writes Hermes calls ---------------------------
# A template that never reads `tools`: a request with tools is refused.
start_server "$work/notools" --parallel 1 -c 256 --chat-template-file "$work/template.jinja"
notools_pid=$server_pid
expect_status 400 POST /v1/chat/completions -d '{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]}'
[ "$(json_field "$body" '.error.code')" = tools_not_supported ] || fail "tools without a tools template: $body"
kill "$notools_pid"
printf '%s' '{% if tools %}tools: {{ tools | tojson }}
{% endif %}{% for m in messages %}{% if m.tool_calls %}{% for c in m.tool_calls %}assistant: <tool_call>{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}</tool_call>
{% endfor %}{% elif m.role == "tool" %}tool: {{ m.content }}
{% else %}{{ m.role }}: {{ m.content }}
{% endif %}{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}' >"$work/tools.jinja"
start_server "$work/tools" --parallel 2 -c 512 --alias tiny --chat-template-file "$work/tools.jinja"
tools_pid=$server_pid
(cd "$work" && node tools.mjs "$url" tiny)
echo "ok - tool calling"
# Structured output on the same server (any template will do).
(cd "$work" && node structured.mjs "$url" tiny)
kill "$tools_pid"
echo "ok - structured output"

# ---- a 1-slot server without a queue: 503, disconnects free the slot ----------------------------
start_server "$work/busy" --parallel 1 --max-queue 0 -c 4096
busy_pid=$server_pid
# A long streaming request holds the only slot; the client hangs up after 4 s. The story may
# reach its end-of-text token sooner and free the slot early, so an attempt whose checks found
# the slot free again is repeated with a new holder.
held=0
for _ in 1 2 3 4 5; do
    curl -sS -N --max-time 4 "$url/v1/completions" -d '{"prompt":"Once","max_tokens":4000,"temperature":1,"stream":true}' \
        >/dev/null 2>&1 &
    hangup_pid=$!
    sleep 0.5
    request POST /v1/completions -d '{"prompt":"Once","max_tokens":2}'
    openai_status=$status openai_body=$body
    request POST /api/generate -d '{"prompt":"Once","options":{"num_predict":2}}'
    if [ "$openai_status" = 503 ] && [ "$status" = 503 ]; then
        held=1
        break
    fi
    wait "$hangup_pid" 2>/dev/null || true
done
[ "$held" = 1 ] || fail "no 503 with the only slot busy: $openai_status $openai_body / $status $body"
[ "$(json_field "$openai_body" '.error.code')" = queue_full ] || fail "503 body: $openai_body"
[ "$(json_expr "$body" 'typeof j.error')" = string ] || fail "ollama 503 body: $body"
wait "$hangup_pid" 2>/dev/null || true
# The disconnect cancels the generation: the slot is free again within a few tokens.
for _ in $(seq 1 100); do
    expect_status 200 GET /health
    [ "$(json_field "$body" '.slots_busy')" = 0 ] && break
    sleep 0.1
done
[ "$(json_field "$body" '.slots_busy')" = 0 ] || fail "the disconnected client's slot is still busy: $body"
expect_status 200 POST /v1/completions -d '{"prompt":"Once","max_tokens":2}'
echo "ok - 503 on a full queue, disconnect frees the slot"

# ---- SIGTERM: in-flight request finishes, exit status 0 -----------------------------------------
curl -sS "$url/v1/completions" -d '{"prompt":"Once","max_tokens":40,"temperature":0}' >"$work/inflight.json" &
curl_pid=$!
sleep 0.3
kill -TERM "$busy_pid"
wait "$curl_pid" || fail "the in-flight request failed at shutdown"
node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (!j.choices) process.exit(1)' \
    "$work/inflight.json" || fail "in-flight answer: $(cat "$work/inflight.json")"
rc=0
wait "$busy_pid" || rc=$?
[ "$rc" = 0 ] || fail "hearth serve exited $rc after SIGTERM"
echo "ok - SIGTERM finishes in-flight requests and exits 0"

# ---- a second SIGTERM cancels what is still running ----------------------------------------------
start_server "$work/twice" --parallel 1 -c 4096
curl -sS "$url/v1/completions" -H 'Content-Type: application/json' \
    -d '{"prompt":"Once","max_tokens":4000,"temperature":1}' >"$work/cancelled.json" &
curl_pid=$!
sleep 0.5
kill -TERM "$server_pid"
sleep 0.3
# Draining: not ready (a balancer moves traffic away), still alive, new work refused.
expect_status 503 GET /ready
[ "$(json_field "$body" '.status')" = draining ] || fail "/ready while draining: $body"
expect_status 200 GET /health
expect_status 503 POST /v1/completions -d '{"prompt":"Once","max_tokens":2}'
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
[ "$rc" = 0 ] || fail "hearth serve exited $rc after two SIGTERMs"
wait "$curl_pid" || fail "the cancelled request got no answer"
# It was cut short (stories260K writes all 4000 tokens when left alone: ~5 s here).
node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (!(j.usage.completion_tokens < 4000)) process.exit(1)' \
    "$work/cancelled.json" || fail "the in-flight request was not cancelled: $(head -c 300 "$work/cancelled.json")"
echo "ok - a second SIGTERM cancels in-flight requests, exit 0"
# ---- the library without -m: models by name, loaded on demand, keep_alive, a memory budget -------
# A fresh library: stories260K under two names and a larger synthetic model.
export HEARTH_HOME=$work/home
rm -rf "$HEARTH_HOME"
[ -f "$work/tiny.gguf" ] || "$hearth" synth --preset tiny --type F32 -o "$work/tiny.gguf" >/dev/null
"$hearth" import "$model" stories >/dev/null
"$hearth" import "$model" tale:v2 >/dev/null
"$hearth" import "$work/tiny.gguf" tiny >/dev/null
export HEARTH_REGISTRY=http://127.0.0.1:1  # unreachable: pulls fail, quickly
start_server "$work/library" --library --api-key "$key" --parallel 2 -c 256 --chat-template-file "$work/template.jinja"
library_pid=$server_pid
unset HEARTH_REGISTRY
# The library routes need the key like every other.
for route in "GET /api/tags" "GET /api/ps" "POST /api/pull" "DELETE /api/delete" "POST /api/copy" "POST /api/show"; do
    expect_status 401 ${route% *} ${route#* } -d '{}'
done
expect_status 400 POST /api/generate "${auth[@]}" -d '{"prompt":"x"}'
[ "$(json_expr "$body" '/model/.test(j.error)')" = true ] || fail "no model named: $body"
expect_status 400 POST /api/generate "${auth[@]}" -d '{"model":"stories","prompt":"x","keep_alive":"soon"}'
[ "$(json_expr "$body" '/keep_alive/.test(j.error)')" = true ] || fail "bad keep_alive: $body"
expect_status 400 POST /api/copy "${auth[@]}" -d '{"source":"stories"}'
expect_status 400 POST /api/pull "${auth[@]}" -d '{"model":"bad name"}'
# A registry that cannot be reached: the stream ends in an error line, as Ollama's does.
pull=$(curl -sS -N "${auth[@]}" "$url/api/pull" -d '{"model":"nosuch/model:v1"}')
[ "$(printf '%s\n' "$pull" | head -n1 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).status))')" = "pulling manifest" ] ||
    fail "pull stream start: $pull"
printf '%s\n' "$pull" | tail -n1 | grep -q '"error"' || fail "pull stream end: $pull"
library_out=$(cd "$work" && node models.mjs library "$url" "$key") || { printf '%s\n' "$library_out"; fail "models.mjs library"; }
printf '%s\n' "$library_out" | grep -v '^GREEDY='
greedy=$(printf '%s\n' "$library_out" | sed -n 's/^GREEDY=//p')
expect_status 200 GET /api/ps "${auth[@]}"
one_model=$(json_expr "$body" 'j.models.find(m => m.name === "stories:latest").size')
kill "$library_pid"
# A budget that holds one stories260K (not two, not the larger synthetic model).
start_server "$work/budget" --library --parallel 2 -c 256 --max-memory $((one_model * 3 / 2)) \
    --chat-template-file "$work/template.jinja"
(cd "$work" && node models.mjs budget "$url" "$greedy")
kill "$server_pid"
unset HEARTH_HOME
echo "ok - the library without -m"
echo "serve integration: all passed"
