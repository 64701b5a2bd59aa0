"""Sending e-mail through the configured SMTP server (`EANTRAG_SMTP_URL`).

The standard library's client, in threads: it speaks STARTTLS, implicit TLS and AUTH without
another dependency. Connections are kept for the next message (a few at most, each used by one
message at a time), and the TLS context is made once: made per message, loading the system's
CA certificates cost ~20 CPU ms, connecting and greeting a few more — a cap of some forty
e-mails per second and core. A connection idle for a while is checked with NOOP before it is
used again; one that fails is closed, never retried (the broker retries the message).
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

from eantrag.settings import Settings

MAX_CONNECTIONS = 4
CHECK_AFTER_SECONDS = 2.0  # idle longer: NOOP before the next message
CLOSE_AFTER_SECONDS = 60.0  # idle longer: closed, not used again


class SmtpMailer:
    def __init__(
        self,
        url: str,
        *,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        parts = urlsplit(url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None

    @property
    def server(self) -> str:
        """Where mail goes, for logs (never the credentials)."""
        return f"{self.host}:{self.port}"

    async def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; returns once the server accepted it."""
        await asyncio.to_thread(self._send, message)

    def close(self) -> None:
        """Say goodbye on the connections kept (a process that ends need not)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for client, _ in idle:
            _quit(client)

    def _send(self, message: EmailMessage) -> None:
        with self._slots:
            client = self._kept() or self._connect()
            try:
                client.send_message(message)
            except BaseException:
                _quit(client)
                raise
            with self._lock:
                self._idle.append((client, time.monotonic()))

    def _kept(self) -> smtplib.SMTP | None:
        """A kept connection that still works, or None."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                client, since = self._idle.pop()
            idle = time.monotonic() - since
            if idle > CLOSE_AFTER_SECONDS:
                _quit(client)
                continue
            if idle > CHECK_AFTER_SECONDS:
                try:
                    code, _ = client.noop()
                except (OSError, smtplib.SMTPException):
                    code = 0
                if code != 250:
                    _quit(client)
                    continue
            return client

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def _connect(self) -> smtplib.SMTP:
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls and not self.implicit_tls:
                client.starttls(context=self._tls())
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            _quit(client)
            raise
        return client


def _quit(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()
    client.close()


def mailer_from(settings: Settings) -> SmtpMailer | None:
    """The configured mailer; None when no SMTP server is set up."""
    if not settings.smtp_url:
        return None
    return SmtpMailer(
        settings.smtp_url,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout_seconds,
    )
