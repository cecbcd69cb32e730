# One image for the four services; the command picks the service and what to do:
#   docker run IMAGE poverty serve households      (HTTP API, outbox relay, consumer)
#   docker run IMAGE poverty migrate households    (alembic upgrade head, then exit)
#   docker run IMAGE poverty --help                (every command: replay-dlq, openapi, import, rekey, ...)
# Build: docker build -t poverty-platform .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the dependencies and the project's wheel -----------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, from the lock alone: this layer is reused until the pins change. Every package is pinned
# with its hashes, so the image gets exactly what CI tested, and a tampered download fails the build.
# (Every dependency ships manylinux wheels for CPython 3.11, so no compiler is needed.)
COPY requirements/runtime.txt requirements/build.txt ./requirements/
RUN /opt/venv/bin/pip install --require-hashes -r requirements/runtime.txt \
    && /opt/venv/bin/pip install --require-hashes -r requirements/build.txt
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
# Built with the pinned build tools just installed (an isolated build would download setuptools unpinned).
RUN /opt/venv/bin/pip wheel --no-build-isolation --no-deps --wheel-dir /tmp/wheels . \
    && /opt/venv/bin/pip install --no-deps /tmp/wheels/*.whl \
    && /opt/venv/bin/pip uninstall --yes pip setuptools wheel \
    && /usr/local/bin/python -m compileall -q /opt/venv/lib

# ---- runtime: the interpreter, the virtualenv and a non-root user; no build tools, no pip ----------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="poverty-platform" \
      org.opencontainers.image.description="households, projects, subsidies and audit services (one image, four commands)"
# pip/setuptools/wheel of the base image are build tools: the runtime does not install anything.
RUN python -m pip uninstall --yes pip setuptools wheel >/dev/null 2>&1 || true; \
    groupadd --system --gid 10001 poverty \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin poverty
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A read-only working directory: the services write nothing to disk (logs go to stdout, data to PostgreSQL);
# only /tmp needs to be writable (an emptyDir / tmpfs in Kubernetes and compose).
WORKDIR /app
USER 10001:10001
# The API ports, and every service's metrics port (METRICS_PORT).
EXPOSE 8001 8002 8003 8004 9100
CMD ["poverty", "--help"]
