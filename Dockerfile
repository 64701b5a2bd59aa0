# syntax=docker/dockerfile:1
# Multi-stage build: wheels are built in a throw-away stage; the runtime image holds the venv,
# the migrations and the schemas, and runs as an unprivileged user.

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libxml2-dev libxslt1-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install .

FROM python:3.12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libxml2 libxslt1.1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system eantrag \
 && useradd --system --gid eantrag --home-dir /app --shell /usr/sbin/nologin eantrag
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Migrations, alembic.ini, schemas and examples are read at run time from the app directory.
COPY alembic.ini ./
COPY migrations ./migrations
COPY schemas ./schemas
COPY examples ./examples
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    EANTRAG_HOME=/app \
    EANTRAG_DATA_DIR=/var/lib/eantrag \
    EANTRAG_HOST=0.0.0.0 \
    EANTRAG_LOG_FORMAT=json
RUN mkdir -p /var/lib/eantrag && chown eantrag:eantrag /var/lib/eantrag
USER eantrag
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["eantrag", "serve"]
