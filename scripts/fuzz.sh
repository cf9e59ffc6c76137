#!/usr/bin/env bash
# Fuzzes the GGUF reader (gguf_fuzz), the model loader on top of it (model_load_fuzz), the
# request parsers of `hearth serve` (serve_request_fuzz) and the grammar parser and JSON Schema
# compiler (grammar_fuzz): builds them with clang (libFuzzer +
# ASan + UBSan) in its own build directory, seeds corpora (GGUF: ../shared/models plus
# hand-made and truncated files; model loader: small models of several architectures from
# ../shared/golden/arch; serve: hand-made request bodies), and runs each for a bounded time.
# Exits non-zero when the fuzzer finds a crash, a leak, an out-of-memory or a timeout; the
# input that triggered it is saved in the artifacts folder.
#
#   scripts/fuzz.sh                      # 60 s per target
#   FUZZ_SECONDS=600 scripts/fuzz.sh     # longer
#   FUZZ_TARGETS=serve_request_fuzz scripts/fuzz.sh   # one target only
#   scripts/fuzz.sh -runs=0              # extra arguments go to the fuzzer
#   scripts/fuzz.sh crash-1234abcd       # replay saved inputs (a file argument runs just it;
#                                        # FUZZ_TARGETS names the target, default gguf_fuzz)
#
# Environment: FUZZ_SECONDS (60; model_load_fuzz runs at most FUZZ_MODEL_SECONDS, 20: each of
# its inputs is a whole model, so it is slow per input and kept short), FUZZ_BUILD_DIR
# (build-fuzz), FUZZ_CORPUS (a folder to keep
# the corpus in; default: a temporary one), FUZZ_ARTIFACTS (where crashing inputs go; default
# $FUZZ_BUILD_DIR/fuzz-artifacts), FUZZ_TIMEOUT (seconds per input, 10), FUZZ_RSS_MB (2048),
# FUZZ_MAX_LEN (bytes; default: libFuzzer's choice from the corpus), CXX (clang++),
# HEARTH_WERROR (OFF; scripts/test.sh sets ON: clang's warnings are errors too),
# HEARTH_SHARED_DIR (../shared beside the repository).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
shared=${HEARTH_SHARED_DIR:-$root/../shared}
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}
cxx=${CXX:-clang++}
case "$cxx" in *clang*) ;; *) echo "fuzz.sh: CXX=$cxx is not clang; libFuzzer needs clang++" >&2; exit 2 ;; esac
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }

# --- build ---------------------------------------------------------------------------------
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
      -DHEARTH_FUZZ=ON -DHEARTH_WERROR="${HEARTH_WERROR:-OFF}" >/dev/null
targets=(${FUZZ_TARGETS:-gguf_fuzz model_load_fuzz serve_request_fuzz grammar_fuzz})
cmake --build "$build" --target "${targets[@]}" -j"$(nproc 2>/dev/null || echo 2)"
fuzzer=$build/bin/${targets[0]}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Replay mode: every argument is an existing file.
if [ $# -gt 0 ] && [ -f "$1" ]; then
    exec "$fuzzer" "$@"
fi

# --- seed corpus ---------------------------------------------------------------------------
if [ -n "${FUZZ_CORPUS:-}" ]; then
    corpus_root=$FUZZ_CORPUS
    mkdir -p "$corpus_root"
else
    corpus_root=$(mktemp -d "${TMPDIR:-/tmp}/hearth-fuzz-corpus.XXXXXX")
    trap 'rm -rf "$corpus_root"' EXIT
fi
mkdir -p "$artifacts"

# serve_request_fuzz: the first byte picks the API (0 OpenAI chat, 1 completions, 2 Ollama
# generate, 3 Ollama chat), the rest is the body.
serve_corpus=$corpus_root/serve_request_fuzz
mkdir -p "$serve_corpus"
printf '\x00{"model":"m","messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"stop":["\\n"],"stream":true,"stream_options":{"include_usage":true}}' >"$serve_corpus/chat.json"
printf '\x00{"messages":[{"role":"system","content":[{"type":"text","text":"a"}]},{"role":"user","content":null}],"temperature":0.5,"top_p":0.9,"seed":-1,"presence_penalty":1,"frequency_penalty":-1,"n":1}' >"$serve_corpus/chat-parts.json"
printf '\x01{"prompt":["Once upon"],"max_tokens":16,"stop":"x","seed":42}' >"$serve_corpus/completion.json"
printf '\x02{"model":"m:latest","prompt":"Hi","system":"s","raw":false,"stream":false,"options":{"temperature":0,"num_predict":-2,"num_ctx":256,"top_k":40,"top_p":0.9,"min_p":0.05,"repeat_penalty":1.1,"repeat_last_n":-1,"seed":1,"stop":["a"]}}' >"$serve_corpus/generate.json"
printf '\x03{"model":"m","messages":[{"role":"user","content":"Hi"}],"format":""}' >"$serve_corpus/ollama-chat.json"
printf '\x00{"name":"m"}' >"$serve_corpus/show.json"

# grammar_fuzz: the first byte picks GBNF (even; text to match after a NUL) or a JSON Schema (odd).
grammar_corpus=$corpus_root/grammar_fuzz
mkdir -p "$grammar_corpus"
printf '\x00root ::= "a" [b-d]* ("x" | y){1,3}\ny ::= [^"\\\\] . "\\u00e9"?  # c\n\x00abbbx' >"$grammar_corpus/gbnf.txt"
printf '\x00root ::= list\nlist ::= "[" (item ("," item)*)? "]"\nitem ::= [0-9]+ | list\n\x00[1,[2]]' >"$grammar_corpus/nested.txt"
printf '\x01{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"array","items":{"type":"string","maxLength":3},"minItems":1,"maxItems":4},"c":{"enum":["x",1,null]},"d":{"format":"date-time"}},"required":["a"],"additionalProperties":false}' >"$grammar_corpus/schema.json"
printf '\x01{"$defs":{"n":{"type":"object","properties":{"k":{"$ref":"#/$defs/n"}}}},"anyOf":[{"$ref":"#/$defs/n"},{"allOf":[{"properties":{"x":{"const":true}}},{"required":["x"]}]},{"type":["null","number"]},{"prefixItems":[{"type":"boolean"}],"items":false}]}' >"$grammar_corpus/refs.json"

corpus=$corpus_root/gguf_fuzz
mkdir -p "$corpus"

# Little-endian writers for hand-made files.
u32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
        $((($1 >> 16) & 255)) $((($1 >> 24) & 255)))"; }
u64() { u32 $(($1 & 0xffffffff)); u32 $((($1 >> 32) & 0xffffffff)); }
str() { u64 ${#1}; printf '%s' "$1"; }                    # GGUF string: u64 length + bytes
header() { printf 'GGUF'; u32 "$1"; u64 "$2"; u64 "$3"; }  # version, n_tensors, n_kv
pad_to() { local n=$(( ($1 - $2 % $1) % $1 )); [ "$n" -gt 0 ] && head -c "$n" /dev/zero || true; }

# Header only, v3 and v2.
header 3 0 0 >"$corpus/empty-v3.gguf"
header 2 0 0 >"$corpus/empty-v2.gguf"
# One metadata value of every scalar type, a string, a string array and a nested array.
{
    header 3 0 14
    str "u8";  u32 0;  printf '\x7f'
    str "i8";  u32 1;  printf '\xff'
    str "u16"; u32 2;  printf '\x34\x12'
    str "i16"; u32 3;  printf '\xfe\xff'
    str "u32"; u32 4;  u32 123456
    str "i32"; u32 5;  u32 0xfffffff0
    str "f32"; u32 6;  printf '\x00\x00\x80\x3f'
    str "bool"; u32 7; printf '\x01'
    str "general.architecture"; u32 8; str "llama"
    str "tokenizer.ggml.tokens"; u32 9; u32 8; u64 3; str "<s>"; str "a"; str "b"
    str "u64"; u32 10; u64 4294967296
    str "i64"; u32 11; u64 0xffffffff; 
    str "f64"; u32 12; printf '\x00\x00\x00\x00\x00\x00\xf0\x3f'
    str "nested"; u32 9; u32 9; u64 2; u32 4; u64 1; u32 7; u32 0; u64 0
} >"$corpus/metadata-types.gguf"
# Two small tensors (F32 [4] and Q8_0 [32, 2]) after a 64-byte alignment.
{
    header 3 2 1
    str "general.alignment"; u32 4; u32 64
    str "a"; u32 1; u64 4; u32 0; u64 0
    str "b"; u32 2; u64 32; u64 2; u32 8; u64 64
} >"$corpus/tensors.tmp"
{
    cat "$corpus/tensors.tmp"
    pad_to 64 "$(wc -c <"$corpus/tensors.tmp")"
    head -c 64 /dev/zero          # tensor a (16 bytes) padded to 64
    head -c 68 /dev/zero          # tensor b: 2 blocks of 34 bytes
} >"$corpus/tensors.gguf"
rm -f "$corpus/tensors.tmp"

# Real files from ../shared (small ones), whole and truncated at interesting places.
n_real=0
for name in detllm-tiny-qmix.gguf detllm-tiny-f32-misaligned.gguf stories260K.gguf \
            tinyllamas-stories-260k-q8_0.gguf; do
    f=$shared/models/$name
    [ -f "$f" ] || continue
    n_real=$((n_real + 1))
    cp "$f" "$corpus/$name"
    chmod u+w "$corpus/$name"
    size=$(wc -c <"$f")
    for n in 4 8 16 24 40 64 256 1024 4096 $((size / 2)) $((size - 1)); do
        [ "$n" -gt 0 ] && [ "$n" -lt "$size" ] && head -c "$n" "$f" >"$corpus/$name.head$n"
    done
done
for f in "$shared"/golden/synth-*-F32.gguf; do   # other architectures' headers, truncated
    [ -f "$f" ] && head -c 65536 "$f" >"$corpus/$(basename "$f").head65536"
done
[ "$n_real" -gt 0 ] || echo "fuzz.sh: $shared/models not found; seeding with hand-made files only" >&2
# model_load_fuzz: whole small models (one per architecture), so mutations start from files
# that load; skipped seeds when ../shared is absent (the hand-made GGUF files still seed it).
model_corpus=$corpus_root/model_load_fuzz
mkdir -p "$model_corpus"
cp "$corpus"/*.gguf "$model_corpus"/
for name in golden/arch/synth-mixtral-256-Q8_0.gguf golden/arch/synth-phi4mini-256-Q8_0.gguf \
            golden/arch/synth-gemma3-256-Q8_0.gguf golden/arch/synth-qwen35moe-256-Q8_0.gguf \
            models/detllm-tiny-qmix.gguf; do
    [ -f "$shared/$name" ] && cp "$shared/$name" "$model_corpus/" && chmod u+w "$model_corpus/$(basename "$name")"
done
echo "fuzz.sh: corpus $corpus ($(ls "$corpus" | wc -l) seeds), ${seconds}s, artifacts in $artifacts/"

# --- run -----------------------------------------------------------------------------------
for target in "${targets[@]}"; do
    case "$target" in
        gguf_fuzz) dir=$corpus; dict=$root/tests/fuzz/gguf.dict ;;
        model_load_fuzz) dir=$model_corpus; dict=$root/tests/fuzz/gguf.dict ;;
        serve_request_fuzz) dir=$serve_corpus; dict=$root/tests/fuzz/serve_request.dict ;;
        grammar_fuzz) dir=$grammar_corpus; dict=$root/tests/fuzz/grammar.dict ;;
        *) echo "fuzz.sh: unknown target $target" >&2; exit 2 ;;
    esac
    t=$seconds
    [ "$target" = model_load_fuzz ] && [ "$t" -gt "${FUZZ_MODEL_SECONDS:-20}" ] && t=${FUZZ_MODEL_SECONDS:-20}
    echo "fuzz.sh: $target for ${t}s"
    args=(-max_total_time="$t" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}"
          -dict="$dict" -artifact_prefix="$artifacts/$target-" -print_final_stats=1)
    [ -n "${FUZZ_MAX_LEN:-}" ] && args+=(-max_len="$FUZZ_MAX_LEN")
    set +e
    "$build/bin/$target" "${args[@]}" "$@" "$dir"
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
        echo "fuzz.sh: $target failed (exit $rc); inputs saved in $artifacts/:" >&2
        ls -l "$artifacts" >&2 || true
        echo "fuzz.sh: replay one with: FUZZ_TARGETS=$target scripts/fuzz.sh $artifacts/<file>" >&2
        exit "$rc"
    fi
done
echo "fuzz.sh: no crash in ${seconds}s per target (${targets[*]})"
