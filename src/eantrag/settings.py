"""One settings object for every process; the README's configuration table is generated from it."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Configuration read from `EANTRAG_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="EANTRAG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("./var"),
        description="Directory for the embedded default: SQLite database and blob files.",
    )
    home: Path | None = Field(
        default=None,
        description=(
            "Directory holding `alembic.ini`, `migrations/`, `schemas/` and `examples/`. "
            "Unset: the source checkout. The Docker image sets `/app`."
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy async URL. Unset: an SQLite file `eantrag.db` in the data directory. "
            "PostgreSQL: `postgresql+asyncpg://user@host/db`."
        ),
    )
    amqp_url: str | None = Field(
        default=None,
        description=(
            "RabbitMQ URL (`amqp://guest:guest@host:5672/`). Unset: the in-database queue "
            "in the same database."
        ),
    )
    blob_url: str | None = Field(
        default=None,
        description=(
            "Where documents over `EANTRAG_BLOB_INLINE_MAX_BYTES` are stored. Unset: the "
            "directory `blobs` in the data directory. `file:///path` for another directory, "
            "`s3://bucket` for S3/MinIO."
        ),
    )
    blob_inline_max_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        description=(
            "Documents up to this size are kept in the database, written in the same commit as "
            "the application or case that refers to them, instead of as a file or S3 object "
            "of their own (which costs disk flushes before every commit). 0: every document "
            "goes to the blob store."
        ),
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="S3/MinIO endpoint URL, e.g. `http://minio:9000` (only with `s3://` blobs).",
    )
    s3_access_key: SecretStr | None = Field(default=None, description="S3/MinIO access key.")
    s3_secret_key: SecretStr | None = Field(default=None, description="S3/MinIO secret key.")
    s3_region: str | None = Field(default=None, description="S3 region, if the endpoint needs one.")

    max_body_bytes: int = Field(
        default=64 * MiB,
        description=(
            "Hard cap for any request body, in bytes. Each form also has its own cap "
            "(see `form_max_bytes`); a multipart submission counts all parts together."
        ),
    )
    form_max_bytes: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Per-form body caps in bytes overriding the form defaults, as JSON, e.g. "
            '`{"hundeanmeldung": 1048576}`.'
        ),
    )
    attachment_max_bytes: int = Field(
        default=20 * MiB,
        description="Cap for a single attachment part of a FIT-Connect submission, in bytes.",
    )
    spool_memory_bytes: int = Field(
        default=1 * MiB,
        description="Request bodies up to this size are spooled in memory, larger ones to disk.",
    )

    public_base_url: str | None = Field(
        default=None,
        description="Base URL used in receipts (`statusUrl`) and `Location` headers, e.g. "
        "`https://antrag.example.de`. Unset: the scheme and host the request was sent to "
        "(behind a proxy, as `EANTRAG_TRUSTED_PROXIES` allow).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies, as JSON, e.g. "
        '`["10.0.0.0/8", "127.0.0.1"]`. Only from these are the `Forwarded` and '
        "`X-Forwarded-Proto/-Host/-For` headers believed (the client's scheme, host and "
        "address); from anyone else they are ignored.",
    )
    host: str = Field(default="127.0.0.1", description="Address `eantrag serve` binds to.")
    port: int = Field(default=8000, description="Port `eantrag serve` listens on.")
    worker_metrics_port: int | None = Field(
        default=None,
        description=(
            "Port on which `eantrag worker` serves its Prometheus metrics (`/metrics`, bound to "
            "`EANTRAG_HOST`); unset: none. Each worker process needs a port of its own."
        ),
    )
    log_format: str = Field(
        default="console",
        description="`console` for readable logs in a terminal, `json` for production.",
    )
    log_level: str = Field(default="INFO", description="Minimum log level.")

    db_pool_size: int = Field(default=10, description="PostgreSQL connection pool size.")
    relay_batch_size: int = Field(
        default=200, description="Outbox rows the relay publishes per batch."
    )
    relay_idle_seconds: float = Field(
        default=0.5,
        description="How long the outbox relay waits for new rows when the outbox is empty.",
    )
    gc_freeze: bool = Field(
        default=True,
        description=(
            "Exempt the objects alive after start-up (and after a 30 s warm-up) from the garbage "
            "collector's full passes, which otherwise stall requests for ~100 ms every few "
            "seconds under load."
        ),
    )
    heap_keep_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description=(
            "glibc only: freed memory up to this much per allocator arena stays with the process "
            "for the next request instead of going back to the kernel, and blocks below half of "
            "it (at most 32 MiB) come from the heap. Saves the kernel's page faults on every "
            "large request (a fifth of validating 1 MB). Peak memory is unchanged; 0 keeps "
            "glibc's defaults."
        ),
    )
    queue_prefetch: int = Field(
        default=64, description="Messages a consumer may hold unacknowledged at once."
    )
    retry_delays_seconds: list[int] = Field(
        default_factory=lambda: [5, 30, 300],
        description=(
            "Delays before each retry of a transiently failed message; after the last one "
            "it is dead-lettered."
        ),
    )

    sweeper_after_seconds: int = Field(
        default=600,
        description="An application still `received` after this long is re-driven by the sweeper.",
    )
    sweeper_interval_seconds: float = Field(
        default=60, description="How often the sweeper (`routing-sweeper`) looks for them."
    )

    xdomea_schema_dir: Path | None = Field(
        default=None,
        description=(
            "Directory holding the official xdomea XSDs as published (`3.0.0/`, `3.1.0/`, "
            "`xoev/`). Every xdomea message is validated against "
            "`<version>/xdomea-Nachrichten-AussonderungDurchfuehren.xsd` before it is written; "
            "unset, `eantrag archive` refuses to write messages unless told `--no-schema-check`."
        ),
    )
    archive_name: str = Field(
        default="Sächsisches Staatsarchiv",
        description="The state archive named as receiver (Empfänger) in xdomea messages.",
    )
    xdomea_format_codes: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "File-format codes (xdomea code list `dateiformat`) by file extension, as JSON, "
            'e.g. `{"xml": "…", "json": "…"}`; they extend and override the built-in ones '
            "(`pdf`, `txt`). An export with a file whose format has no code is refused."
        ),
    )
    xdomea_format_list_version: str = Field(
        default="2.0",
        description="Version of the `dateiformat` code list the format codes come from.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return value

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in {"console", "json"}:
            raise ValueError("log_format must be 'console' or 'json'")
        return value

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'eantrag.db').resolve()}"

    @cached_property
    def effective_blob_url(self) -> str:
        if self.blob_url:
            return self.blob_url
        return (self.data_dir / "blobs").resolve().as_uri()

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def form_cap(self, form_id: str, default: int) -> int:
        return min(self.form_max_bytes.get(form_id, default), self.max_body_bytes)


def get_settings() -> Settings:
    return Settings()
