# One image for every process: `thidua <subcommand>` (ingest, scoring, writer, notify, api,
# migrate, simulate). Installed editable from /app so config/ (criteria, registry, rules)
# resolves beside the package, as in a checkout.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them: the runtime lock's exact versions,
# each checked against its hash (scripts/lock.sh writes it from pyproject.toml's ranges).
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md* ./

COPY thidua ./thidua
COPY services ./services
COPY tools ./tools
COPY config ./config
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /var/lib/thidua thidua \
    && mkdir -p /var/lib/thidua/scoring /var/lib/thidua/chdb \
    && chown -R thidua /var/lib/thidua
# (a named volume mounted on an existing, thidua-owned directory keeps that owner)

USER thidua
ENV THIDUA_SCORING_DATA_DIR=/var/lib/thidua/scoring \
    THIDUA_CLICKHOUSE_DSN=chdb:///var/lib/thidua/chdb

EXPOSE 8000 8001 8002 8003
ENTRYPOINT ["thidua"]
CMD ["--help"]
