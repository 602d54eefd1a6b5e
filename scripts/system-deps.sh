#!/usr/bin/env bash
# Debian packages the end-to-end suites need: chromium for the browser tests, a CJK font so Chinese
# screenshots are readable, and PostgreSQL (initdb / pg_ctl; the tests start their own throwaway server).
# Installed only when missing; needs root (as on CI and the dev machines).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=(fonts-wqy-microhei)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: please install: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
