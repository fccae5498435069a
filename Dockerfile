# syntax=docker/dockerfile:1
#
# One Dockerfile, two images that share their dependency layer:
#   docker build --target query  -t delos-query  .   # python -m query_service (gRPC on $PORT)
#   docker build --target worker -t delos-worker .   # python -m ingest_worker (Pub/Sub subscriber)
# Both install exactly the runtime packages pinned, with hashes, in Pipfile.lock; dev packages never
# enter an image. Each target copies only the code its process imports.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# --- build: resolve nothing, install the lock ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS deps

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build

# pipenv only exports the lock; it is not installed in the runtime images.
RUN pip install pipenv==2026.10.3

COPY Pipfile Pipfile.lock ./

# `pipenv verify` fails when Pipfile.lock is stale; `--require-hashes` refuses anything not pinned
# by hash in the lock, including a transitive dependency missing from it.
RUN pipenv verify \
    && pipenv requirements --hash > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes -r requirements.txt

# --- shared runtime ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DELOS_DATA_DIR=/tmp/delos

RUN groupadd --system --gid 10001 delos \
    && useradd --system --uid 10001 --gid delos --no-create-home --shell /usr/sbin/nologin delos

COPY --from=deps /opt/venv /opt/venv

WORKDIR /app
# Code stays owned by root, so the process cannot modify it.
COPY bootstrap.py ./
COPY common/ common/
COPY backends/ backends/

# --- query service ----------------------------------------------------------------------------------
FROM runtime AS query

COPY delos/ delos/
COPY query_service/ query_service/

# Containers must bind all interfaces; Cloud Run sets PORT (8080 by default, as here).
ENV DELOS_HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080

USER 10001:10001
# Exec form: python is PID 1 and receives SIGTERM itself, so it drains gracefully.
CMD ["/opt/venv/bin/python", "-m", "query_service"]

# --- ingest worker ----------------------------------------------------------------------------------
FROM runtime AS worker

COPY ingest_worker/ ingest_worker/
# The archived exchanges (archive/SOURCES.md), beside common/, where DELOS_ARCHIVE_DIR's default points.
COPY archive/ archive/

USER 10001:10001
CMD ["/opt/venv/bin/python", "-m", "ingest_worker"]
