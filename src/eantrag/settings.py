"""One settings object for every process; the README's configuration table is generated from it."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from limits import parse_many
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
        "(behind a proxy, as `EANTRAG_TRUSTED_PROXIES` allow); links made outside a request "
        "(e-mails to citizens, the token issuer, the OIDC redirect) then use "
        "`http://127.0.0.1:8000`, so set it in production.",
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

    smtp_url: str | None = Field(
        default=None,
        description=(
            "SMTP server for the citizen's e-mail notifications, `smtp://host:port` (or "
            "`smtps://host:port` for TLS from the first byte). Unset: no e-mail is sent, the "
            "citizen's status page says so, and the events are not queued for the "
            "`notifications` worker at all (`eantrag.notifications` is not bound). Set it for "
            "every process of an installation alike."
        ),
    )
    smtp_starttls: bool = Field(
        default=False,
        description="Upgrade the `smtp://` connection with STARTTLS before authenticating.",
    )
    smtp_username: str | None = Field(
        default=None, description="SMTP user name, if the server wants authentication."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(
        default="eantrag <noreply@localhost>",
        description="Sender (From) of the notifications, e.g. `Bürgerservice <antrag@example.de>`.",
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect and command timeout of the SMTP client."
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
            'Extra file-format codes by file extension, as JSON, e.g. `{"p7s": "100"}`. '
            "The xdomea code list Dateiformat 1.0 is built in (PDF/A 044, PDF 018, XML 030, "
            "HTML 008, TXT 045, 100 Sonstiges for JSON and what the list lacks); a code given "
            "here must be one of that list, or the processes refuse to start."
        ),
    )
    pdf_renderings: bool = Field(
        default=True,
        description=(
            "Render every filed application as PDF/A (worker `renderer`). Off: filings are not "
            "queued for rendering (`eantrag.renderings` is not bound); what is queued already is "
            "acknowledged without rendering. Set it for every process of an installation alike."
        ),
    )
    bescheid_template_dir: Path | None = Field(
        default=None,
        description=(
            "Directory of Bescheid template files that replace the built-in ones by the same "
            "relative name, e.g. `wohngeld-mietzuschuss/rechtsbehelfsbelehrung.txt` (see "
            "`casefile/templates/bescheid/`)."
        ),
    )

    intake_auth: Literal["required", "off"] = Field(
        default="required",
        description=(
            "`required`: every `POST /v1/applications` needs a portal's access token "
            "(`POST /oauth/token`) whose scopes cover the application's region and service. "
            "`off`: anyone who reaches the API may submit — for closed test networks only."
        ),
    )
    token_lifetime_seconds: int = Field(
        default=900,
        ge=60,
        le=86400,
        description="How long a portal's access token is valid (15 minutes by default).",
    )
    token_issuer: str | None = Field(
        default=None,
        description=(
            "`iss` of the access tokens eantrag issues and accepts. Unset: "
            "`EANTRAG_PUBLIC_BASE_URL` (`http://127.0.0.1:8000` when that is unset too)."
        ),
    )
    token_audience: str = Field(
        default="urn:eantrag:intake",
        description="`aud` of the access tokens eantrag issues and accepts.",
    )
    rate_limit_intake: str = Field(
        default="600/minute",
        description=(
            "Submissions per portal client (per address while `EANTRAG_INTAKE_AUTH=off`), "
            "in the notation of the `limits` library: `600/minute`, `20/second;600/minute`."
        ),
    )
    rate_limit_token: str = Field(
        default="30/minute",
        description="Requests to `POST /oauth/token` per client address.",
    )
    rate_limit_login: str = Field(
        default="10/minute",
        description="Login attempts per client address (and per account, where the login says).",
    )
    rate_limit_status: str = Field(
        default="120/minute",
        description="Requests to the citizen's status URLs per client address.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description=(
            "Redis URL (`redis://host:6379/0`) for the rate-limit counters shared by all API "
            "replicas. Unset: each process counts in its own memory (the embedded default)."
        ),
    )
    rate_limit_prefix: str = Field(
        default="eantrag",
        description="Prefix of the rate-limit keys in Redis, to share one Redis with others.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description=(
            "Origins of browser portals allowed to call the API across origins, as JSON, e.g. "
            '`["https://portal.example.de"]`. Empty: none.'
        ),
    )

    session_max_age_seconds: int = Field(
        default=8 * 3600,
        ge=60,
        description="A login session ends this long after the login, whatever happens.",
    )
    session_idle_seconds: int = Field(
        default=30 * 60,
        ge=60,
        description="A login session ends after this long without a request.",
    )
    login_max_failures_per_account: int = Field(
        default=5,
        ge=1,
        description=(
            "Failed logins for one username (existing or not) before further attempts are "
            "refused with 429 for `EANTRAG_LOGIN_LOCKOUT_SECONDS`, doubling with each further "
            "failure."
        ),
    )
    login_max_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed logins from one client address before it is locked out the same way.",
    )
    login_lockout_seconds: int = Field(
        default=30, ge=1, description="The first lockout after too many failed logins."
    )
    login_lockout_max_seconds: int = Field(
        default=15 * 60, ge=1, description="The longest lockout the doubling reaches."
    )
    login_failure_window_seconds: int = Field(
        default=15 * 60,
        ge=1,
        description="Failed logins older than this (since the first of a series) are forgotten.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description=(
            "Issuer URL of the operator's OpenID Connect provider, e.g. "
            "`https://login.example.de/realms/eantrag` (Keycloak); its "
            "`/.well-known/openid-configuration` is read. Unset: local accounts only."
        ),
    )
    oidc_client_id: str | None = Field(
        default=None, description="eantrag's client id at the OIDC provider."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="eantrag's client secret at the OIDC provider (confidential client).",
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description=(
            "The redirect URI registered at the provider. Unset: "
            "`EANTRAG_PUBLIC_BASE_URL` + `/login/oidc/callback`."
        ),
    )
    oidc_scopes: str = Field(
        default="openid profile email",
        description="Scopes asked for at the provider (space-separated; `openid` is required).",
    )
    oidc_authority_claim: str = Field(
        default="groups",
        description=(
            "ID token claim that carries the person's authority id. When it is the same claim "
            "as `EANTRAG_OIDC_ROLE_CLAIM`, its values are group paths `/<authority>/<role>` "
            "(Keycloak's group membership mapper, e.g. `/stadt-dresden/clerk`); `/triage` or "
            "`/admin` alone is a role without an authority."
        ),
    )
    oidc_role_claim: str = Field(
        default="groups",
        description="ID token claim that carries the role: clerk, triage, archivist or admin.",
    )
    oidc_name_claim: str = Field(
        default="name", description="ID token claim with the person's display name."
    )
    oidc_username_claim: str = Field(
        default="preferred_username",
        description="ID token claim with the login name shown in `eantrag user list`.",
    )

    @field_validator(
        "rate_limit_intake", "rate_limit_token", "rate_limit_login", "rate_limit_status"
    )
    @classmethod
    def _known_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is no rate limit (e.g. `600/minute`): {exc}") from exc
        return value

    fitconnect_submission_api: str | None = Field(
        default=None,
        description=(
            "Base URL of the FIT-Connect Submission API (the Zustelldienst), e.g. "
            "`https://submission-api-testing.fit-connect.fitko.dev`. Unset (or any other "
            "`EANTRAG_FITCONNECT_*` connection setting unset): eantrag receives nothing "
            "from FIT-Connect."
        ),
    )
    fitconnect_token_url: str | None = Field(
        default=None,
        description=(
            "OAuth2 token endpoint of FIT-Connect (client credentials), e.g. "
            "`https://auth-testing.fit-connect.fitko.dev/token`."
        ),
    )
    fitconnect_client_id: str | None = Field(
        default=None, description="OAuth2 client id of the destination's API client."
    )
    fitconnect_client_secret: SecretStr | None = Field(
        default=None, description="OAuth2 client secret of the destination's API client."
    )
    fitconnect_destination_id: str | None = Field(
        default=None,
        description=(
            "The destination (Zustellpunkt) id whose submissions eantrag fetches; also the "
            "`iss` of the events it signs."
        ),
    )
    fitconnect_keys: Path | None = Field(
        default=None,
        description=(
            "Path of the private JWK Set (`eantrag fitconnect keys create`): one or more "
            "decryption keys (`key_ops` `unwrapKey`, RSA-OAEP-256) and one signing key "
            "(`key_ops` `sign`, PS512). Several decryption keys at once allow key rollover."
        ),
    )
    fitconnect_callback_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Secret of the destination's callback, to verify `callback-authentication` "
            "(HMAC-SHA512) on `POST /v1/fitconnect/callback`. Unset: callbacks are refused "
            "and the worker relies on polling."
        ),
    )
    fitconnect_poll_interval_seconds: float = Field(
        default=60,
        gt=0,
        description=(
            "How often the `fitconnect` worker lists the destination's submissions, besides "
            "whenever a valid callback arrives (in the same process)."
        ),
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("smtp_url must start with smtp:// or smtps://")
        if value and "@" in value.split("//", 1)[1].split("/", 1)[0]:
            # A password in a plain string setting would end up in logs and reprs.
            raise ValueError(
                "smtp_url must not carry credentials; set EANTRAG_SMTP_USERNAME and "
                "EANTRAG_SMTP_PASSWORD"
            )
        return value or None

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
    def effective_token_issuer(self) -> str:
        return self.token_issuer or self.link_base_url

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_oidc_redirect_url(self) -> str:
        return self.oidc_redirect_url or self.link_base_url + "/login/oidc/callback"

    @property
    def link_base_url(self) -> str:
        """The base of links made outside a request (e-mails, token issuer, OIDC redirect, the
        demo): `EANTRAG_PUBLIC_BASE_URL`, else the default address of `eantrag serve`."""
        return (self.public_base_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def fitconnect_enabled(self) -> bool:
        """FIT-Connect is received only when every connection setting is given."""
        return None not in (
            self.fitconnect_submission_api,
            self.fitconnect_token_url,
            self.fitconnect_client_id,
            self.fitconnect_client_secret,
            self.fitconnect_destination_id,
            self.fitconnect_keys,
        )

    def form_cap(self, form_id: str, default: int) -> int:
        return min(self.form_max_bytes.get(form_id, default), self.max_body_bytes)


def get_settings() -> Settings:
    return Settings()
