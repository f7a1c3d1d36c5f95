#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright; install it when missing, with
# a colour emoji font so the composer's emoji render in the screenshots.
set -euo pipefail
[ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/truetype/noto ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji \
  || { $SUDO apt-get update \
    && $SUDO apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji; }
