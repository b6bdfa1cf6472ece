#!/usr/bin/env bash
# browser.sh: install Debian's Chromium and CJK fonts for the browser tests,
# when missing. Safe to run again.
set -euo pipefail
pkgs=()
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
# grep reads all of fc-list (with -q it stops early, fc-list dies of SIGPIPE and
# pipefail reports the fonts missing: apt-get on every run)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || pkgs+=(fonts-noto-cjk)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "browser: installing ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
echo "browser: $(chromium --version 2>/dev/null || echo 'chromium missing')"
