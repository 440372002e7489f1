#!/usr/bin/env bash
# Idempotent setup on a fresh Debian machine: system packages, the Python venv, Kafka's jars.
# Usage: scripts/setup.sh [--test]   (--test also installs what the tests need: Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

packages=()
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || packages+=(python3-venv)
if [ "$want_test" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  echo "==> apt-get install ${packages[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

python3 - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"Python 3.11 is required (found {sys.version.split()[0]})")
PY

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
echo "==> pip install -e .[test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

echo "==> Apache Kafka jars (Maven Central)"
.venv/bin/thidua kafka fetch
