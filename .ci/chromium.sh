#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (tests/browser/) when it is missing. Playwright
# drives it at /usr/bin/chromium; no browser is downloaded from anywhere else. Exits non-zero when
# it cannot be installed (not root, no apt-get, no network): the browser tests then skip, saying why.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing and cannot be installed here (needs root and apt-get)" >&2
  exit 1
fi
echo "installing chromium (Debian package) for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
test -x /usr/bin/chromium
