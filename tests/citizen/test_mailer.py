"""The SMTP client against a real server that insists on STARTTLS and a login: the settings
`EANTRAG_SMTP_STARTTLS`, `_USERNAME` and `_PASSWORD` are what it takes."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from citizen import mailer as mailer_module
from citizen.mailer import SmtpMailer, mailer_from
from eantrag.settings import Settings
from tests.casefile.conftest import free_port
from tests.citizen.conftest import Inbox


class Accounts:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == b"buergerservice"
            and data.password == b"s3cret"
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture
def tls_server(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Inbox, Accounts]]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # the client trusts this CA only
    inbox, accounts = Inbox(), Accounts()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=accounts,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox, accounts
    finally:
        controller.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "antrag@example.de"
    message["To"] = "erika@example.org"
    message["Subject"] = "Probe"
    message.set_content("Grüße aus dem Test")
    return message


def _logging_in(url: str, password: str, **settings: Any) -> SmtpMailer:
    """The mailer of a server that wants STARTTLS and the login `buergerservice`."""
    mailer = mailer_from(
        Settings(
            smtp_url=url,
            smtp_starttls=True,
            smtp_username="buergerservice",
            smtp_password=password,  # type: ignore[arg-type]
            **settings,
        )
    )
    assert mailer is not None
    return mailer


async def test_starttls_and_login(tls_server: tuple[str, Inbox, Accounts]) -> None:
    url, inbox, accounts = tls_server
    mailer = _logging_in(url, "s3cret")
    await mailer.send(_message())
    assert accounts.logins == ["buergerservice"]
    assert [str(m["Subject"]) for m in inbox.messages] == ["Probe"]


async def test_without_starttls_the_server_refuses(tls_server: tuple[str, Inbox, Accounts]) -> None:
    url, inbox, _ = tls_server
    mailer = mailer_from(Settings(smtp_url=url))
    assert mailer is not None
    with pytest.raises(smtplib.SMTPException):
        await mailer.send(_message())
    assert inbox.messages == []


async def test_a_wrong_password_is_an_error_not_a_silent_drop(
    tls_server: tuple[str, Inbox, Accounts],
) -> None:
    url, inbox, _ = tls_server
    mailer = _logging_in(url, "falsch", smtp_timeout_seconds=3)
    # smtplib tries the next mechanism after the server's 535; either way the send fails,
    # and the worker retries it.
    with pytest.raises(smtplib.SMTPException):
        await mailer.send(_message())
    assert inbox.messages == []


def test_settings_refuse_other_schemes_and_keep_the_password_secret() -> None:
    with pytest.raises(ValueError, match="smtp://"):
        Settings(smtp_url="http://mail.example.org")
    with pytest.raises(ValueError, match="EANTRAG_SMTP_PASSWORD"):
        Settings(smtp_url="smtp://user:geheim@mail.example.org:587")
    settings = Settings(smtp_url="smtps://mail.example.org", smtp_password="geheim")  # type: ignore[arg-type]
    assert "geheim" not in repr(settings)
    mailer = mailer_from(settings)
    assert mailer is not None and mailer.implicit_tls and mailer.server == "mail.example.org:465"
    assert mailer_from(Settings(smtp_url="")) is None


async def test_one_connection_and_one_login_carry_many_messages(
    tls_server: tuple[str, Inbox, Accounts],
) -> None:
    url, inbox, accounts = tls_server
    mailer = _logging_in(url, "s3cret")
    for _ in range(5):
        await mailer.send(_message())
    mailer.close()
    assert len(inbox.messages) == 5
    assert accounts.logins == ["buergerservice"], "one connection, one STARTTLS, one login"


async def test_a_kept_connection_the_server_dropped_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mailer_module, "CHECK_AFTER_SECONDS", 0.0)
    port = free_port()
    first, second = Inbox(), Inbox()
    server = Controller(first, hostname="127.0.0.1", port=port)
    server.start()
    mailer = mailer_from(Settings(smtp_url=f"smtp://127.0.0.1:{port}"))
    assert mailer is not None
    try:
        await mailer.send(_message())
        server.stop()  # the kept connection dies with it
        server = Controller(second, hostname="127.0.0.1", port=port)
        server.start()
        await mailer.send(_message())
    finally:
        mailer.close()
        server.stop()
    assert len(first.messages) == 1 and len(second.messages) == 1
