"""Every e-mail, in both languages, through the running system and a real SMTP server: links work, parts agree."""
import html as html_lib
import re
import uuid

import pytest
import requests

from kadra_defaults.contracts.mail import MAIL_EVENTS
from kadra_defaults.outbox import Publisher, mail_event

pytestmark = pytest.mark.e2e

HREF = re.compile(r'href="([^"]+)"')
WHEN = "2030-03-04T05:06:07+00:00"
SAMPLES = {
    "member_invited": {"company_name": "Piekarnia Łódź", "inviter_name": "Zofia Żak", "role_label": "Kadrowa",
                       "token": "tok-inv", "expires_at": WHEN},
    "password_reset_requested": {"token": "tok-reset", "expires_at": WHEN},
    "password_changed": {"changed_at": WHEN, "via": "reset"},
    "second_factor_changed": {"method": "totp", "change": "enabled", "changed_at": WHEN},
    "second_factor_required": {"company_name": "Piekarnia Łódź", "required_by_name": "Zofia Żak",
                               "required_at": WHEN},
    "email_change_requested": {"new_email": "nowy@example.com", "token": "tok-confirm", "expires_at": WHEN},
    "email_change_notice": {"new_email": "nowy@example.com", "undo_token": "tok-undo"},
    "device_paired": {"device_name": "Pixel 8", "platform": "android", "activated_at": WHEN},
    "device_blocked": {"device_name": "Pixel 8", "blocked_at": WHEN},
    "device_removed": {"device_name": "Pixel 8", "platform": "ios", "removed_at": WHEN, "cause": "email_revert"},
    "device_replaced": {"device_name": "iPhone 15", "platform": "ios", "old_device_name": "Pixel 8",
                        "old_platform": "android", "activated_at": WHEN},
    "ownership_transferred": {"company_name": "Piekarnia Łódź", "became_owner": True, "role_label": "Właściciel",
                              "previous_owner_name": "Zofia Żak", "new_owner_name": "Anna Nowak",
                              "transferred_at": WHEN},
    "email_changed": {"old_email": "stary@example.com", "new_email": "nowy@example.com", "sent_to": "old",
                      "changed_at": WHEN},
    "email_change_reverted": {"restored_email": "stary@example.com", "undone_email": "nowy@example.com",
                              "sent_to": "restored", "reverted_at": WHEN},
    "login_locked_out": {"locked_until": WHEN},
    "role_changed": {"company_name": "Piekarnia Łódź", "old_role_label": "Pracownik",
                     "new_role_label": "Kadrowa", "changed_by_name": "Zofia Żak"},
    "member_removed": {"company_name": "Piekarnia Łódź", "removed_by_name": "Zofia Żak"},
    "ownership_transfer_requested": {"company_name": "Piekarnia Łódź", "from_name": "Zofia Żak",
                                     "token": "tok-owner", "expires_at": WHEN},
    "signup_confirmation_requested": {"company_name": "Piekarnia Łódź", "token": "tok-signup", "expires_at": WHEN},
    "signup_for_existing_account_attempted": {"attempted_at": WHEN},
}
FACTS = ("company_name", "role_label", "new_email", "device_name", "old_role_label", "new_role_label",
         "old_device_name", "old_email", "restored_email", "undone_email")


def test_the_samples_cover_every_mail_event():
    assert set(SAMPLES) == set(MAIL_EVENTS)


def test_every_email_in_both_languages_arrives_with_working_links_and_agreeing_parts(system, system_env, mailbox):
    public_url = system_env["KADRA_PUBLIC_URL"]
    publisher = Publisher(system_env["KADRA_AMQP_URI"])
    sent = []
    try:
        for event_type, fields in SAMPLES.items():
            for locale in ("pl", "en"):
                to = f"tpl-{event_type}-{locale}-{uuid.uuid4().hex[:6]}@example.com"
                envelope = mail_event(event_type, {"to": to, "locale": locale, "full_name": "Anna Nowak", **fields})
                publisher.publish(envelope)
                sent.append((envelope, to, locale))
    finally:
        publisher.close()
    checked_links = set()
    for envelope, to, locale in sent:
        [mail] = mailbox.wait_for(to, timeout=60)
        payload = envelope["payload"]
        assert mail.subject and mail.text.strip() and mail.html.strip()
        assert mail.headers["X-Kadra-Event-Id"] == envelope["id"]
        assert mail.headers.get("Content-Language") == locale
        assert "Anna Nowak" in mail.text and "Anna Nowak" in mail.html
        text_links = set(mail.links())
        html_links = {html_lib.unescape(h) for h in HREF.findall(mail.html) if h.startswith("http")}
        assert text_links == html_links, envelope["type"]  # the same links in both parts (some notices have none)
        for link in text_links:
            assert link.startswith(public_url + "/"), link
        token = payload.get("token") or payload.get("undo_token")
        if token:
            assert any(link.endswith(f"#token={token}") for link in text_links), envelope["type"]
        for fact in FACTS:
            if fact in payload:
                assert payload[fact] in mail.text and html_lib.escape(payload[fact]) in mail.html, fact
        checked_links |= {link.split("#", 1)[0] for link in text_links}
    for page in sorted(checked_links):  # every link opens a page of the running web app
        response = requests.get(page, timeout=10)
        assert response.status_code == 200, page
        assert "text/html" in response.headers["Content-Type"], page
