"""Read the e-mails a real SMTP server (scripts/mailsink.py) received, from its folder.

Every Mailbox opened in this process is listed by `open_mailboxes()`: the sign-up helpers
(tests/support/signup.py) look there for a person's confirmation e-mail, so their callers need not
pass the `smtp_server.mailbox` fixture along (addresses are unique per test; any mailbox that has the
e-mail is the right one).
"""
import email
import email.policy
import os
import re
import threading
import time
import weakref
from dataclasses import dataclass

LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass
class Mail:
    """One received e-mail, parsed."""

    name: str
    to: str
    subject: str
    text: str
    html: str
    headers: dict

    def links(self) -> list[str]:
        """Every URL in the text part, in order."""
        return LINK.findall(self.text)


def parse(path: str) -> Mail:
    with open(path, "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return Mail(
        name=os.path.basename(path),
        to=str(message["To"]),
        subject=str(message["Subject"]),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else "",
        headers={k: str(v) for k, v in message.items()},
    )


_OPEN: "weakref.WeakSet[Mailbox]" = weakref.WeakSet()


def open_mailboxes() -> list["Mailbox"]:
    """Every Mailbox opened in this process and not yet gone (the session's SMTP sink among them)."""
    return list(_OPEN)


class Mailbox:
    """The folder an SMTP sink writes to; tests read from it and wait on it."""

    def __init__(self, folder: str):
        self.folder = folder
        self._parsed: dict[str, Mail] = {}  # the sink writes each file once (a rename): parse it once
        self._lock = threading.Lock()
        _OPEN.add(self)

    def _names(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.folder) if n.endswith(".eml"))
        except FileNotFoundError:  # a sink whose folder is gone has no mail
            return []

    def all(self) -> list[Mail]:
        mails = []
        for name in self._names():
            mail = self._parsed.get(name)
            if mail is None:
                try:
                    mail = parse(os.path.join(self.folder, name))
                except FileNotFoundError:  # removed meanwhile (see `remove`)
                    continue
                with self._lock:
                    self._parsed[name] = mail
            mails.append(mail)
        return mails

    def count(self) -> int:
        return len(self._names())

    def remove(self, mail: Mail) -> None:
        """Take an e-mail out of the folder (a person who followed its link and archived it)."""
        try:
            os.remove(os.path.join(self.folder, mail.name))
        except FileNotFoundError:
            pass
        with self._lock:
            self._parsed.pop(mail.name, None)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.all() if address.lower() in m.to.lower()]

    def wait_for(self, address: str, subject_contains: str = "", count: int = 1, timeout: float = 30.0) -> list[Mail]:
        """Wait until `count` e-mails to `address` (whose subject contains the text) arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if subject_contains in m.subject]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} e-mail(s) to {address} with {subject_contains!r} "
                                     f"within {timeout}s, got {len(found)}: {[m.subject for m in self.to(address)]}")
            time.sleep(0.1)
