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
# The PDF/A fonts (DejaVu Sans, with its licence) and the Bescheid templates are package data of
# `casefile` in the venv: PDF/A rendering needs no system fonts or native libraries.
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
# The official xdomea XSDs (`3.0.0/`, `3.1.0/`, `xoev/` as published by KoSIT) are not shipped:
# mount them read-only here, e.g. `-v /srv/xdomea:/opt/xdomea:ro`. Archive commands validate
# every message against them and refuse, naming this directory, while it is empty.
ENV EANTRAG_XDOMEA_SCHEMA_DIR=/opt/xdomea
VOLUME ["/opt/xdomea"]
RUN mkdir -p /var/lib/eantrag /opt/xdomea && chown eantrag:eantrag /var/lib/eantrag
USER eantrag
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["eantrag", "serve"]
