#!/usr/bin/env bash
# Installs everything Paceline and its test suite need on a fresh Debian 12 machine (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(pacemaker-cli-utils resource-agents pacemaker-resource-agents fence-agents libxml2-utils
              etcd-server etcd-client haproxy keepalived iproute2 procps iputils-ping curl bc
              chromium chromium-driver openssl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# pip's own status decides: its output is filtered of two harmless warnings, never its failure.
if ! pip_log=$(python3 -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1); then
  printf '%s\n' "$pip_log" >&2
  echo "setup: pip install of the package and its test tools failed" >&2
  exit 1
fi
printf '%s\n' "$pip_log" | grep -v -e "Running pip as the 'root'" -e "is ignored: it is neither" -e '^$' || true
