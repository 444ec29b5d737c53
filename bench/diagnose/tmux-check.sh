#!/usr/bin/env bash
# Runs the real diagnose TUI in an 80×24 tmux pane during a provoked backlog, drives it with
# send-keys and prints every captured screen, for a person to read.
#   bench/diagnose/tmux-check.sh [OUT_DIR]
# Starts its own stack (port offset 14200, state dir under /tmp) and stops it on exit.
# `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-$(mktemp -d /tmp/diagnose-tmux-XXXX)}
mkdir -p "$out"
command -v tmux >/dev/null || { echo "tmux is not installed: apt-get install -y tmux" >&2; exit 3; }
offset=${DIAGNOSE_TMUX_OFFSET:-14200}
state=$(mktemp -d /tmp/diagnose-tmux-state-XXXX)
chmod 755 "$state"
session="diag-check-$$"
common=(--state-dir "$state" --port-offset "$offset")

cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  node bin/run.js down "${common[@]}" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

node bin/run.js up "${common[@]}" --services postgres,rabbitmq,redis >/dev/null
node --import tsx bench/diagnose/provoke.ts "${common[@]}" --messages 1500

# Waits (bounded) until the pane shows the text, then saves the screen.
capture() {
  local name=$1 want=$2
  for _ in $(seq 1 100); do
    if tmux capture-pane -p -t "$session" | grep -qF -- "$want"; then break; fi
    sleep 0.1
  done
  tmux capture-pane -p -t "$session" >"$out/$name.txt"
  echo "=== $name (waited for: $want) ==="
  cat "$out/$name.txt"
}

tmux new-session -d -s "$session" -x 80 -y 24 \
  "node bin/run.js diagnose ${common[*]} --interval 2s; echo EXIT=\$?; sleep 30"
capture overview ' crit'
# The management API refreshes every 5 s: wait for the backlog to show.
capture backlog 'no consumer'
# One key group at a time, each followed by the screen it should produce (a person's pace: an
# Escape sent together with the next key would reach the program as Alt+key).
tmux send-keys -t "$session" Down
capture moved '▸CRIT rabbitmq'
tmux send-keys -t "$session" Enter
capture finding 'Evidence'
tmux send-keys -t "$session" Escape
capture back 'FINDINGS'
tmux send-keys -t "$session" Tab
capture components-pane '▸postgres'
tmux send-keys -t "$session" Down Enter
capture component 'Findings ('
tmux send-keys -t "$session" Escape
capture back-again 'FINDINGS'
tmux send-keys -t "$session" '?'
capture help 'Keys'
tmux send-keys -t "$session" '?'
capture help-closed 'FINDINGS'
tmux send-keys -t "$session" Space
capture paused '[PAUSED]'
tmux send-keys -t "$session" Space
tmux send-keys -t "$session" / r a b b i t
capture filtering 'type to filter'
tmux send-keys -t "$session" Enter
capture filtered 'FINDINGS 2'
# A few refreshes later: the backlog keeps its first-seen time, so its age grows.
sleep 5
capture later 'FINDINGS 2'
tmux send-keys -t "$session" q
capture exit 'EXIT='
echo "screens saved in $out"
