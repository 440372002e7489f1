#!/usr/bin/env bash
# Idempotent setup on a fresh Debian machine: system packages, the Python venv, Kafka's jars.
# Usage: scripts/setup.sh [--test]   (--test also installs what the tests need: the packages of
# requirements-test.lock instead of requirements.lock, Chromium, promtool (Debian package
# prometheus) and kustomize (built by Go into .venv/bin))
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
# The Python packages come from the lock (scripts/lock.sh writes it from pyproject.toml's ranges):
# exact versions with their hashes, so no new release in range (faust-streaming and aiokafka,
# whose internals thidua/ patches, above all) reaches .venv until someone relocks and the tests
# pass. Then the project itself, editable and --no-deps. A stamp in .venv holds the hash of what
# was installed: when neither the lock nor pyproject.toml changed, nothing runs.
PIP_VERSION=26.3
pip=(.venv/bin/python -m pip --disable-pip-version-check)
stamp_of() { cat "$1" pyproject.toml <(echo "pip $PIP_VERSION") | sha256sum | cut -d' ' -f1; }
stamp=.venv/.thidua-lock
installed="$(cat "$stamp" 2>/dev/null || true)"
lock=requirements.lock
# The test lock holds the runtime one at the same versions (tests/unit/test_lock.py): a venv set
# up for the tests stays one and serves the stack too, so scripts/run.sh never undoes the work of
# scripts/test.sh.
if [ "$want_test" = 1 ] || [ "${installed%% *}" = requirements-test.lock ]; then
  lock=requirements-test.lock
fi
if [ "$installed" != "$lock $(stamp_of "$lock")" ]; then
  echo "==> pip install --require-hashes -r $lock"
  "${pip[@]}" install -q "pip==$PIP_VERSION"
  "${pip[@]}" install -q --require-hashes -r "$lock"
  # What an older lock brought and this one no longer has goes, so .venv is exactly the lock.
  extra="$("${pip[@]}" freeze --all --exclude-editable | .venv/bin/python -c '
import re, sys
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
locked = {norm(line.split("==")[0]) for line in open(sys.argv[1]) if "==" in line}
keep = locked | {"pip", "setuptools", "wheel", "thidua-cds"}
for line in sys.stdin:
    if "==" in line and norm(line.split("==")[0]) not in keep:
        print(line.split("==")[0])
' "$lock")"
  if [ -n "$extra" ]; then
    echo "==> pip uninstall (not in $lock): $(echo $extra)"
    # shellcheck disable=SC2086
    "${pip[@]}" uninstall -q -y $extra
  fi
  "${pip[@]}" install -q --no-deps -e .
  echo "$lock $(stamp_of "$lock")" > "$stamp"
fi

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
