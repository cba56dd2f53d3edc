"""SMTP for notify: settings from KADRA_SMTP_*, a small pool of open connections, and one send.

A send is split so that the moment the server accepts the message (the reply to the final ".")
and the write that records it happen under one lock (``commit_lock``): across every connection of
the process at most one message is ever "accepted but not yet recorded", so a SIGKILL can cause at
most one duplicate e-mail. Everything before the final "." (MAIL, RCPT, DATA and the content) runs
in parallel on several connections. The recording write is one append to a local journal
(notify.journal), so the lock is held for one SMTP round trip, not for a database write.
"""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from kadra_defaults import settings

TLS_MODES = ("none", "starttls", "tls")
CRLF = b"\r\n"
IDLE_CHECK_SECONDS = 30.0


class TemporaryFailure(Exception):
    """Try again later: connection refused or lost, time-out, 4xx."""


class PermanentFailure(Exception):
    """Never going to work: 5xx (bad recipient, refused content)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    user: str
    password: str
    mail_from: str
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> "SmtpSettings":
        s = settings.current()
        return cls(host=s.smtp_host, port=s.smtp_port, tls=s.smtp_tls, user=s.smtp_user, password=s.smtp_password,
                   mail_from=s.mail_from)

    @property
    def mail_address(self) -> str:
        return mail_address(self.mail_from)

    def __repr__(self) -> str:  # never the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, tls={self.tls!r}, user={self.user!r})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code} {text}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def classify(exc: BaseException) -> Exception:
    """A TemporaryFailure or PermanentFailure for an exception raised while sending."""
    if isinstance(exc, (TemporaryFailure, PermanentFailure)):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentFailure(f"recipient refused: SMTP {codes[0]}")
        return TemporaryFailure(f"recipient refused: SMTP {codes[0] if codes else '?'}")
    if isinstance(exc, smtplib.SMTPResponseException):
        if 500 <= exc.smtp_code < 600:
            return PermanentFailure(_describe(exc))
        return TemporaryFailure(_describe(exc))
    if isinstance(exc, (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError)):
        return TemporaryFailure(_describe(exc))
    # Not the network and not SMTP (an address smtplib cannot encode, a bug): trying again fails again.
    return PermanentFailure(_describe(exc))


class _Connection:
    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp
        self.used_at = time.monotonic()

    def close(self) -> None:
        try:
            self.smtp.close()
        except Exception:  # already broken
            pass


class SmtpPool:
    """Open SMTP connections reused between messages (each used by one green thread at a time)."""

    def __init__(self, settings: SmtpSettings, size: int = 8):
        self.settings = settings
        self.size = size
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self.commit_lock = threading.Lock()
        self.opened = 0

    def _open(self) -> _Connection:
        s = self.settings
        if s.tls == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            # The content and the final "." are two writes: without TCP_NODELAY the second waits for
            # the server's delayed ACK (~40 ms per e-mail, measured).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if s.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password)
        except BaseException:
            smtp.close()
            raise
        self.opened += 1
        return _Connection(smtp)

    def _take(self) -> tuple[_Connection, bool]:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if time.monotonic() - conn.used_at < IDLE_CHECK_SECONDS:
                    return conn, True
                conn.close()  # servers drop idle connections; a fresh one costs less than a failed try
        return self._open(), False

    def _give_back(self, conn: _Connection) -> None:
        conn.used_at = time.monotonic()
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            try:
                conn.smtp.quit()
            except Exception:
                conn.close()

    def send(self, data: bytes, recipient: str, on_accepted) -> None:
        """Send one message (`notify.message.wire_bytes`); `on_accepted()` runs under `commit_lock` right
        after the server's 250.

        Raises TemporaryFailure or PermanentFailure. A reused connection that turns out to be
        closed before anything was sent is replaced once, at once.
        """
        for attempt in (1, 2):
            try:
                conn, reused = self._take()
            except Exception as exc:
                raise classify(exc) from exc
            stage = "envelope"
            try:
                smtp = conn.smtp
                code, reply = smtp.mail(self.settings.mail_address)
                if code != 250:
                    smtp.rset()
                    raise smtplib.SMTPSenderRefused(code, reply, self.settings.mail_address)
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    smtp.rset()
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
                code, reply = smtp.docmd("data")
                if code != 354:
                    raise smtplib.SMTPDataError(code, reply)
                stage = "content"
                smtp.send(data)
                with self.commit_lock:
                    stage = "commit"
                    smtp.send(b"." + CRLF)
                    code, reply = smtp.getreply()
                    if code == 250:
                        stage = "accepted"
                        on_accepted()
                if code != 250:
                    raise smtplib.SMTPDataError(code, reply)
            except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
                conn.close()
                if stage == "accepted":
                    raise
                if reused and stage == "envelope" and attempt == 1:
                    continue  # the pooled connection had gone stale: try a fresh one now
                raise classify(exc) from exc
            except Exception as exc:
                conn.close()
                if stage == "accepted":
                    raise  # the server took it; the failure is ours (recording it), not SMTP's
                raise classify(exc) from exc
            self._give_back(conn)
            return


def mail_address(value: str) -> str:
    """The bare address of "Name <addr>" (for MAIL FROM)."""
    match = re.search(r"<([^>]+)>", value)
    return (match.group(1) if match else value).strip()

