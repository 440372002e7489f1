#!/usr/bin/env bash
# The test command: set up everything on this machine, then run the whole suite against a real
# Kafka broker (started by the test session, stopped at its end) and the embedded ClickHouse.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# A broker left behind by a killed run must not leak stale topics into this one.
export THIDUA_TEST_KAFKA_DIR="${THIDUA_TEST_KAFKA_DIR:-/tmp/thidua-test-kafka}"
if ! (exec 3<>/dev/tcp/127.0.0.1/"${THIDUA_TEST_KAFKA_PORT:-39092}") 2>/dev/null; then
  rm -rf "$THIDUA_TEST_KAFKA_DIR"
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
