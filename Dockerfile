# syntax=docker/dockerfile:1
# Gongzhi API image. Not built in CI yet (no Docker engine there) — see docs/deploy.md.
#
#   docker build -t gongzhi .                                  # --build-arg PIP_INDEX_URL=<mirror>
#   docker run --rm --env-file prod.env gongzhi migrate        # one-off (job / init container)
#   docker run -d -p 8000:8000 --env-file prod.env gongzhi     # serve on 0.0.0.0:8000
#
# The entrypoint is `python -m app`, so any CLI command can follow the image name
# (`migrate`, `check-migrations`, `users create …`, `areas import …`,
# `serve --host 0.0.0.0 --port 8000 --workers 4`).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: the dependencies in a venv --------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ARG PIP_INDEX_URL=https://pypi.org/simple
ENV PIP_INDEX_URL=${PIP_INDEX_URL} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml ./
COPY app ./app
COPY migrations ./migrations

# Installing the project pulls exactly the dependencies pyproject.toml declares; the project
# itself is then removed because the runtime runs the code from /app (settings put var/ next to
# the code). Tortoise picks asyncmy over aiomysql when both import, and our time-limited MySQL
# engine is built on aiomysql: fail the build if anything brought asyncmy in.
RUN pip install . \
 && pip uninstall -y gongzhi \
 && python -c "import importlib.util, sys; sys.exit('asyncmy must not be installed' if importlib.util.find_spec('asyncmy') else 0)"

# --- runtime --------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=prod \
    VAR_DIR=/app/var

RUN groupadd --system --gid 10001 gongzhi \
 && useradd --system --uid 10001 --gid gongzhi --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin gongzhi

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY app ./app
COPY migrations ./migrations
# Byte-compile now: the code is root-owned and read-only for the runtime user.
RUN python -m compileall -q app migrations \
 && mkdir -p /app/var \
 && chown gongzhi:gongzhi /app/var

USER gongzhi
# SQLite and local photos in dev mode; in production (MySQL + Qiniu) it stays nearly empty.
VOLUME ["/app/var"]
EXPOSE 8000

# slim has no curl: ask /healthz with the standard library (non-2xx or no answer = exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

ENTRYPOINT ["python", "-m", "app"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
