#!/usr/bin/env bash
# Renders a bench HTML report in headless Chromium (Debian's `chromium` package) and writes a PNG,
# so a person (or a test) can see that the charts render with no network access.
#   bench/loadgen/screenshot-report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]
set -euo pipefail
html=${1:?usage: screenshot-report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]}
png=${2:?usage: screenshot-report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]}
width=${3:-1000}
height=${4:-2200}
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
  echo "chromium is not installed: apt-get install -y chromium" >&2
  exit 3
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
abs_html=$(realpath "$html")
abs_png=$(realpath -m "$png")
# A fresh profile and every background service off: the page must render from the file alone.
timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --disable-default-apps \
  --hide-scrollbars --user-data-dir="$profile" --window-size="${width},${height}" \
  --screenshot="$abs_png" "file://$abs_html" >/dev/null 2>&1
test -s "$abs_png"
echo "$abs_png"
