#!/usr/bin/env bash
# Idempotent setup on a fresh Debian machine: system packages, the Python venv, Kafka's jars.
# Usage: scripts/setup.sh [--test]   (--test also installs what the tests need: Chromium,
# promtool (Debian package prometheus) and kustomize (built by Go into .venv/bin))
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
# tests/deploy/test_monitoring.py: `promtool check|test rules` on deploy/prometheus
if [ "$want_test" = 1 ] && ! command -v promtool >/dev/null 2>&1; then
  packages+=(prometheus)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  echo "==> apt-get install ${packages[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  # policy-rc.d 101: the prometheus package must not start a server here (only promtool is used)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
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

# tests/deploy/test_k8s.py renders deploy/k8s with kustomize: the Go module, built once into
# .venv/bin (Go's module proxy; ~1 min the first time, then cached).
KUSTOMIZE_VERSION=v5.5.0
if [ "$want_test" = 1 ] && [ ! -e ".venv/kustomize-$KUSTOMIZE_VERSION" ]; then
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    PATH="$PATH:/usr/local/go/bin"
  fi
  command -v go >/dev/null 2>&1 || { echo "kustomize needs Go 1.22+ on PATH" >&2; exit 1; }
  echo "==> go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  GOBIN="$PWD/.venv/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  touch ".venv/kustomize-$KUSTOMIZE_VERSION"  # go-installed binaries report "(devel)"
fi
