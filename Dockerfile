# syntax=docker/dockerfile:1
# Threshold's API and worker: one image, two commands (see docker-compose.yml and deploy/).
#   docker build -t threshold .
#   docker run threshold                              # the API on :8000
#   docker run threshold python -m core.serve worker  # a worker (SIGTERM drains activities)
# No Temporal dev server inside: the image talks to a Temporal cluster or Temporal Cloud.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a virtual environment with the locked dependencies, then the project ---
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
# The dependency layer depends on the lock alone: a code change reuses it. Every file is
# checked against its sha256 in requirements.lock (regenerate it with pip-compile, see the lock).
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md worker.py ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY integrations integrations
COPY db db
COPY api api
COPY cli cli
COPY core core
# The project itself, without dependencies (all locked above); then its bytecode: the sandbox
# re-executes workflow modules per run and the runtime image writes no bytecode.
RUN pip install --no-deps . && python -m compileall -q /opt/venv/lib

# --- runtime: the environment and the policy, run as an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    THRESHOLD_API__HOST=0.0.0.0 THRESHOLD_POLICY_FILE=/app/policy.yaml \
    THRESHOLD_DATA_DIR=/tmp/threshold THRESHOLD_TEMPORAL__EMBEDDED=false
RUN groupadd --system --gid 10001 threshold \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin threshold
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY policy.yaml ./
USER 10001:10001
EXPOSE 8000
# Liveness of the API process without curl; workers override it (python -m core.probe worker).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["python", "-m", "core.serve", "api"]
