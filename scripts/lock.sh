#!/usr/bin/env bash
# Regenerate the locks from pyproject.toml: requirements.lock (what the services need, used by the
# Dockerfile) and requirements-test.lock (that plus the `test` extra, used by scripts/setup.sh).
# Exact versions with sha256 hashes, for Linux x86_64 and CPython 3.11. Versions already in the
# locks are kept unless pyproject.toml excludes them, so after adding a dependency this changes
# only what must change; `bash scripts/lock.sh --upgrade` moves everything to the newest in range,
# `--upgrade-package NAME` one package.
# uv resolves (pip has no lock); it runs from a venv of its own under ~/.cache/thidua, never from
# .venv, so the project's environment holds exactly what the lock says.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
tools="${XDG_CACHE_HOME:-$HOME/.cache}/thidua/uv-$UV_VERSION"
if [ ! -x "$tools/bin/uv" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
compile=("$tools/bin/uv" pip compile pyproject.toml --quiet --generate-hashes
  --python-version 3.11 --python-platform x86_64-manylinux_2_28
  --custom-compile-command "bash scripts/lock.sh" "$@")

# The test lock first, then the runtime one constrained by it: a package in both is at the same
# version in both (tests/unit/test_lock.py checks it).
"${compile[@]}" --extra test -o requirements-test.lock
"${compile[@]}" -c requirements-test.lock -o requirements.lock
