"""Sending e-mail through the configured SMTP server (`EANTRAG_SMTP_URL`).

One connection per message, in a thread: notifications are a handful per application, and the
standard library's client speaks STARTTLS, implicit TLS and AUTH without another dependency.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import urlsplit

from eantrag.settings import Settings


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

    @property
    def server(self) -> str:
        """Where mail goes, for logs (never the credentials)."""
        return f"{self.host}:{self.port}"

    async def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; returns once the server accepted it."""
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls and not self.implicit_tls:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)


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
