#!/usr/bin/env bash
# Drives `hearth chat` in a real terminal (a detached tmux session) the way a person uses it:
# type a question, read the streamed answer, press Ctrl-C during a long answer and get the
# prompt back, leave with /bye. Exit 77 (skipped) when tmux is not installed.
#   tests/tmux/chat_session.sh HEARTH_BINARY
set -euo pipefail

hearth=${1:?usage: chat_session.sh HEARTH_BINARY}
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }

work=$(mktemp -d)
sock="$work/tmux.sock"
sess="hearth-chat-$$"
t() { tmux -S "$sock" "$@"; }
cleanup() { t kill-server >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "---- pane ----"
  t capture-pane -p -t "$sess" -S -100 2>/dev/null || true
  exit 1
}
pane() { t capture-pane -p -t "$sess" -S -200; }
# wait_for REGEX SECONDS: until the pane matches.
wait_for() {
  local re=$1 secs=${2:-20} i
  for ((i = 0; i < secs * 10; i++)); do
    if pane | grep -Eq -- "$re"; then return 0; fi
    sleep 0.1
  done
  return 1
}
# The last non-empty line of the pane.
last_line() { pane | sed '/^[[:space:]]*$/d' | tail -n 1; }

# A small random-weight model: a long context and many layers, so that an answer at
# temperature 0 (random weights never pick end-of-text) takes long enough to interrupt.
"$hearth" synth --preset tiny --type F32 --layers 24 --ctx 32768 -o "$work/tiny.gguf" -q >/dev/null

t -f /dev/null new-session -d -s "$sess" -x 160 -y 50 \
  "'$hearth' chat -m '$work/tiny.gguf' -c 32768 -t 2 --temp 0 --system 'You are a test.'; echo HEARTH-EXITED-\$?; sleep 30"

wait_for '^>>>' 30 || fail "no >>> prompt at start"

# 1. A short answer: type a question, the answer streams, the prompt comes back.
t send-keys -t "$sess" "/set num_predict 12" Enter
wait_for "Set parameter 'num_predict' to '12'" 10 || fail "/set did not answer"
t send-keys -t "$sess" "What is the capital of France?" Enter
wait_for '^>>> What is the capital of France\?' 10 || fail "the question was not echoed"
for ((i = 0; i < 300; i++)); do
  [[ "$(last_line)" == ">>>" || "$(last_line)" == ">>> " ]] && break
  sleep 0.1
done
[[ "$(last_line)" =~ ^\>\>\>[[:space:]]*$ ]] || fail "the prompt did not come back after the answer"
# Between the question and the new prompt there is answer text.
answer=$(pane | sed -n '/^>>> What is the capital of France?/,$p' | sed '1d;$d' | tr -d '[:space:]')
[[ -n "$answer" ]] || fail "no answer text between the question and the prompt"

# 2. A long answer stopped with Ctrl-C: the program stays, the prompt returns.
t send-keys -t "$sess" "/set num_predict -1" Enter
wait_for "Set parameter 'num_predict' to '-1'" 10 || fail "/set num_predict -1 did not answer"
t send-keys -t "$sess" "Tell me a very long story." Enter
wait_for '^>>> Tell me a very long story\.' 10 || fail "the second question was not echoed"
sleep 1.5
t send-keys -t "$sess" C-c
wait_for 'answer stopped' 15 || fail "Ctrl-C did not stop the answer"
for ((i = 0; i < 100; i++)); do
  [[ "$(last_line)" =~ ^\>\>\>[[:space:]]*$ ]] && break
  sleep 0.1
done
[[ "$(last_line)" =~ ^\>\>\>[[:space:]]*$ ]] || fail "no prompt after Ctrl-C"
pane | grep -q HEARTH-EXITED && fail "Ctrl-C ended the program"

# 3. The history has the question (libedit): Up recalls it; then clear the line.
t send-keys -t "$sess" Up
wait_for '^>>> Tell me a very long story\.$' 5 || fail "Up did not recall the last line (no history?)"
t send-keys -t "$sess" C-u

# 4. /bye leaves with exit code 0.
t send-keys -t "$sess" "/bye" Enter
wait_for 'HEARTH-EXITED-0' 10 || fail "/bye did not leave cleanly"
echo "PASS: tmux chat session"
