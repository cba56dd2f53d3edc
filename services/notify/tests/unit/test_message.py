"""The MIME message notify sends: parts, encodings and Polish headers that read back exactly."""
import email
import email.policy
from types import SimpleNamespace

from notify.message import build, wire_bytes


def _build(full_name="Zażółć Gęślą", subject="Zaproszenie do firmy „Majama Michał Zając” w aplikacji Kadra"):
    rendered = SimpleNamespace(subject=subject, text="Dzień dobry,\nłącze: https://kadra.example/app/x#token=abc\n",
                               html="<p>Dzień dobry,</p><a href=\"https://kadra.example/app/x#token=abc\">łącze</a>")
    envelope = {"id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}
    payload = {"to": "anna@example.com", "full_name": full_name, "locale": "pl"}
    raw = wire_bytes(build(envelope, payload, rendered, mail_from="Kadra – powiadomienia <powiadomienia@kadra.example>",
                           mail_address="powiadomienia@kadra.example"))
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def test_headers_read_back_in_polish():
    raw, parsed = _build()
    assert raw.isascii()  # 7-bit: every non-ASCII header and body is encoded
    assert str(parsed["Subject"]) == "Zaproszenie do firmy „Majama Michał Zając” w aplikacji Kadra"
    (to,) = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zażółć Gęślą", "anna@example.com")
    (sender,) = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Kadra – powiadomienia", "powiadomienia@kadra.example")
    assert parsed["Message-ID"] == "<0f1e2d3c4b5a69788796a5b4c3d2e1f0@kadra.example>"
    assert parsed["X-Kadra-Event-Id"] == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert parsed["Content-Language"] == "pl" and parsed["Auto-Submitted"] == "auto-generated"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_text_then_html_in_utf8():
    _, parsed = _build()
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.iter_parts()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    # on the wire every line ends in CRLF, in the parts too
    assert text.get_content().replace("\r\n", "\n") == "Dzień dobry,\nłącze: https://kadra.example/app/x#token=abc\n"
    assert "łącze</a>" in html.get_content()
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed.get_body(preferencelist=("plain",)) is not None


def test_an_ascii_name_stays_plain():
    raw, parsed = _build(full_name="Anna Nowak", subject="Password reset")
    assert b"To: Anna Nowak <anna@example.com>" in raw
    assert b"Subject: Password reset" in raw


def test_each_message_has_its_own_boundary_that_no_part_contains():
    raw, parsed = _build()
    other, _ = _build()
    boundary = parsed.get_boundary()
    assert boundary.startswith("=_kadra_") and boundary != email.message_from_bytes(other).get_boundary()
    for part in parsed.iter_parts():
        assert boundary not in part.as_string()
    assert raw.count(b"--" + boundary.encode()) == 3  # two parts and the closing line
