"""Read the e-mails a real SMTP server (scripts/mailsink.py) received, from its folder."""
import email
import email.policy
import os
import re
import time
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


class Mailbox:
    """The folder an SMTP sink writes to; tests read from it and wait on it."""

    def __init__(self, folder: str):
        self.folder = folder

    def all(self) -> list[Mail]:
        names = sorted(n for n in os.listdir(self.folder) if n.endswith(".eml"))
        return [parse(os.path.join(self.folder, n)) for n in names]

    def count(self) -> int:
        return sum(1 for n in os.listdir(self.folder) if n.endswith(".eml"))

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
