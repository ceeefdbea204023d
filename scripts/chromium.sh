#!/usr/bin/env bash
# Print the path of a headless-capable Chromium for the browser tests, installing Debian's
# `chromium` package first when none is on the PATH (Playwright's own browser download is not
# used). Usage: scripts/chromium.sh
set -euo pipefail
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    exit 0
  fi
done
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "Chromium not found: installing Debian package 'chromium'" >&2
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >&2
command -v chromium
