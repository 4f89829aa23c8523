#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages the demo and the test suite need, when they are missing and we
# run as root: python3-venv (for the virtual environment), chromium (browser tests), softhsm2
# (the PKCS#11 key provider's tests) and npm (axe-core for the accessibility tests).
# Prints what is still missing otherwise.
set -euo pipefail

need=()
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
