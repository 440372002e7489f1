#!/usr/bin/env bash
# The main command: set up, then run the whole stack locally on the embedded defaults, fed by a
# simulated Tuyên Quang province. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/thidua up "$@"
