"""Rendering of mail events: templates, links, escaping, languages.

Pure unit tests: the real templates and the real payload schemas; no SMTP,
no broker, no network.
"""

import datetime as dt
import re
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from jinja2 import UndefinedError

from kadra_defaults.contracts.mail import MAIL_EVENTS, MailEvent, MailPayloadSchema, load_payload
from notify import rendering
from notify.rendering import RenderedMail, Renderer, UnknownTemplate, local_time

PUBLIC_URL = "https://kadra.example.pl"
EXPIRES = "2026-11-30T13:05:00Z"  # 14:05 in Warsaw (CET)
WHEN = "2026-07-01T12:00:00Z"  # 14:00 in Warsaw (CEST)
TOKEN = secrets.token_urlsafe(32)
UNDO_TOKEN = secrets.token_urlsafe(32)

SAMPLES = {
    "member_invited": {
        "company_name": "Majama Michał Zając", "inviter_name": "Jan Kowalski",
        "role_label": "magazynier", "token": TOKEN, "expires_at": EXPIRES,
    },
    "password_reset_requested": {"token": TOKEN, "expires_at": EXPIRES},
    "password_changed": {"changed_at": WHEN, "via": "reset"},
    "second_factor_changed": {"method": "totp", "change": "enabled", "changed_at": WHEN},
    "second_factor_required": {"company_name": "Majama Michał Zając", "required_by_name": "Jan Kowalski",
                               "required_at": WHEN},
    "email_change_requested": {"new_email": "anna.nowa@example.pl", "token": TOKEN, "expires_at": EXPIRES},
    "email_change_notice": {"new_email": "anna.nowa@example.pl", "undo_token": UNDO_TOKEN},
    "device_paired": {"device_name": "Pixel 8 Anny", "platform": "android", "activated_at": WHEN},
    "device_blocked": {"device_name": "iPhone Anny", "blocked_at": WHEN},
    "device_removed": {"device_name": "Pixel 8 Anny", "platform": "android", "removed_at": WHEN,
                       "cause": "password_reset"},
    "device_replaced": {"device_name": "iPhone 15 Anny", "platform": "ios", "old_device_name": "Pixel 8 Anny",
                        "old_platform": "android", "activated_at": WHEN},
    "ownership_transferred": {
        "company_name": "Majama Michał Zając", "became_owner": False, "role_label": "zarząd / pełnomocnik / księgowy",
        "previous_owner_name": "Jan Kowalski", "new_owner_name": "Anna Nowak-Zając", "transferred_at": WHEN,
    },
    "email_changed": {"old_email": "anna.nowak@example.pl", "new_email": "anna.nowa@example.pl", "sent_to": "old",
                      "changed_at": WHEN},
    "email_change_reverted": {"restored_email": "anna.nowak@example.pl", "undone_email": "anna.nowa@example.pl",
                              "sent_to": "restored", "reverted_at": WHEN},
    "login_locked_out": {"locked_until": EXPIRES},
    "role_changed": {
        "company_name": "Majama Michał Zając", "old_role_label": "pracownik",
        "new_role_label": "zarząd / pełnomocnik / księgowy", "changed_by_name": "Jan Kowalski",
    },
    "member_removed": {"company_name": "Majama Michał Zając", "removed_by_name": "Jan Kowalski"},
    "ownership_transfer_requested": {
        "company_name": "Majama Michał Zając", "from_name": "Jan Kowalski",
        "token": TOKEN, "expires_at": EXPIRES,
    },
    "signup_confirmation_requested": {"company_name": "Majama Michał Zając", "token": TOKEN, "expires_at": EXPIRES},
    "signup_for_existing_account_attempted": {"attempted_at": WHEN},
}

# The links each e-mail promises: (path under the public URL, payload field with the token).
LINKS = {
    "member_invited": [("/app/accept-invitation", "token")],
    "password_reset_requested": [("/app/reset-password", "token")],
    "password_changed": [("/app/forgot-password", None)],
    "second_factor_changed": [("/app/forgot-password", None)],
    "second_factor_required": [("/app/login", None)],
    "email_change_requested": [("/app/confirm-email", "token")],
    "email_change_notice": [("/app/revert-email", "undo_token"), ("/app/forgot-password", None)],
    "device_paired": [("/app/mobile", None), ("/app/forgot-password", None)],
    "device_blocked": [("/app/mobile", None)],
    "device_removed": [("/app/mobile", None), ("/app/forgot-password", None)],
    "device_replaced": [("/app/mobile", None), ("/app/forgot-password", None)],
    "ownership_transferred": [],
    "email_changed": [("/app/forgot-password", None)],
    "email_change_reverted": [("/app/forgot-password", None)],
    "login_locked_out": [("/app/forgot-password", None)],
    "role_changed": [],
    "member_removed": [],
    "ownership_transfer_requested": [("/app/accept-ownership", "token")],
    "signup_confirmation_requested": [("/app/confirm-account", "token")],
    "signup_for_existing_account_attempted": [("/app/login", None), ("/app/forgot-password", None)],
}

# Values a person must see in both parts (names, companies, roles, devices, addresses).
VISIBLE_FIELDS = (
    "full_name", "company_name", "inviter_name", "role_label", "old_role_label",
    "new_role_label", "changed_by_name", "removed_by_name", "from_name",
    "device_name", "new_email", "old_device_name", "previous_owner_name", "new_owner_name", "old_email",
    "restored_email", "undone_email",
)
DATETIME_FIELDS = ("expires_at", "changed_at", "activated_at", "blocked_at", "locked_until", "attempted_at",
                   "removed_at", "transferred_at", "reverted_at")
# The sign-up confirmation goes to an address somebody typed, with the company name they typed: it stays out
# of the subject (a stranger's inbox should not show attacker-chosen words in our name).
COMPANY_NOT_IN_SUBJECT = ("signup_confirmation_requested",)
LOCALES = ("pl", "en")
EVENT_TYPES = sorted(MAIL_EVENTS)


def payload_for(event_type, locale="pl", **overrides):
    raw = {"to": "anna.nowak@example.pl", "locale": locale, "full_name": "Anna Nowak"}
    raw.update(SAMPLES[event_type])
    raw.update(overrides)
    return load_payload(event_type, raw)


@pytest.fixture(scope="module")
def renderer():
    return Renderer(PUBLIC_URL)


def render(renderer, event_type, locale="pl", occurred_at=WHEN, **overrides):
    return renderer.render(event_type, payload_for(event_type, locale, **overrides), occurred_at=occurred_at)


class _HtmlReader(HTMLParser):
    """Collects the visible text and the link targets of an HTML part."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs, self.chunks, self.tags = [], [], []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("br", "p", "td", "tr", "table", "title"):
            self.chunks.append(" ")
        if tag in ("head", "style", "script"):
            self._skip += 1
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag in ("head", "style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)


def read_html(html):
    reader = _HtmlReader()
    reader.feed(html)
    reader.close()
    reader.text = squash("".join(reader.chunks))
    return reader


def text_urls(text):
    return re.findall(r"https?://[^\s<>\"]+", text)


def squash(text):
    return " ".join(text.split())


def test_the_samples_cover_every_event():
    assert set(SAMPLES) == set(MAIL_EVENTS) == set(LINKS)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_renders_in_both_languages(renderer, event_type, locale):
    mail = render(renderer, event_type, locale)
    assert isinstance(mail, RenderedMail)
    assert mail.subject.startswith("Kadra: ")
    assert "\n" not in mail.subject
    assert len(mail.text.strip()) > 100
    assert f'<html lang="{locale}">' in mail.html
    assert read_html(mail.html).text.startswith("Kadra")
    greeting = "Dzień dobry, Anna Nowak," if locale == "pl" else "Hello Anna Nowak,"
    assert mail.text.startswith(greeting)
    assert greeting in read_html(mail.html).text
    for part in (mail.subject, mail.text, mail.html):
        assert "None" not in part and "{{" not in part and "{%" not in part


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_two_languages_really_differ(renderer, event_type):
    polish, english = render(renderer, event_type, "pl"), render(renderer, event_type, "en")
    assert polish.subject != english.subject
    assert "Pozdrawiamy" in polish.text and "Best regards" in english.text


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_english_mails_name_the_link_as_the_english_web_page_does(renderer, event_type):
    """The English login page's link reads "remind password"; an English e-mail never quotes the Polish one."""
    mail = render(renderer, event_type, "en")
    for part in (mail.subject, squash(mail.text), read_html(mail.html).text):
        assert "przypomnij" not in part.lower() and "forgot password" not in part.lower()
    if any(path == "/app/forgot-password" for path, _ in LINKS[event_type]):
        assert '"remind password"' in squash(mail.text).lower()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_promised_link_is_in_both_parts_and_carries_its_token(renderer, event_type, locale):
    payload = payload_for(event_type, locale)
    mail = renderer.render(event_type, payload)
    html_urls = set(read_html(mail.html).hrefs)
    plain_urls = set(text_urls(mail.text))
    assert plain_urls == html_urls, "text and HTML must offer the same links"

    expected = set()
    for path, token_field in LINKS[event_type]:
        matching = {u for u in plain_urls if urlsplit(u).path == path}
        assert len(matching) == 1, f"{path} missing or ambiguous in {plain_urls}"
        url = matching.pop()
        expected.add(url)
        assert url.startswith(PUBLIC_URL + "/app/")
        parts = urlsplit(url)
        assert parts.query == "", "tokens travel in the fragment, never the query"
        if token_field is None:
            assert parts.fragment == ""
        else:
            assert parse_qs(parts.fragment, strict_parsing=True) == {"token": [payload[token_field]]}
    assert plain_urls == expected, "no link beyond those the contract promises"
    for secret in (TOKEN, UNDO_TOKEN):
        if secret not in (payload.get("token"), payload.get("undo_token")):
            assert secret not in mail.text + mail.html


@pytest.mark.parametrize("event_type", ["member_invited", "email_change_notice"])
def test_a_token_with_unsafe_characters_is_url_encoded_and_round_trips(renderer, event_type):
    field = "undo_token" if event_type == "email_change_notice" else "token"
    token = "a+b/c=d&e#f%g h"
    mail = render(renderer, event_type, **{field: token})
    (url,) = [u for u in text_urls(mail.text) if "token=" in u]
    assert token not in url
    assert parse_qs(urlsplit(url).fragment) == {"token": [token]}
    assert url in read_html(mail.html).hrefs


@pytest.mark.parametrize("public_url", ["http://localhost:8000/", "https://kadra.example.pl/biuro/"])
def test_the_public_url_is_used_without_its_trailing_slash(public_url):
    mail = Renderer(public_url).render("member_invited", payload_for("member_invited"))
    (url,) = set(text_urls(mail.text))
    assert url.startswith(public_url.rstrip("/") + "/app/accept-invitation#token=")
    assert "//app" not in url


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_text_and_html_carry_the_same_facts(renderer, event_type, locale):
    payload = payload_for(event_type, locale)
    mail = renderer.render(event_type, payload, occurred_at=WHEN)
    html_text = read_html(mail.html).text
    plain = squash(mail.text)
    facts = [payload[f] for f in VISIBLE_FIELDS if payload.get(f)]
    facts += [local_time(payload[f], locale) for f in DATETIME_FIELDS if f in payload]
    assert len(facts) >= 2
    for fact in facts:
        assert fact in plain, f"{fact!r} missing from the text part"
        assert fact in html_text, f"{fact!r} missing from the HTML part"


@pytest.mark.parametrize("event_type", ["email_change_notice", "role_changed", "member_removed"])
@pytest.mark.parametrize("locale", LOCALES)
def test_notices_without_a_moment_of_their_own_show_when_the_event_happened(renderer, event_type, locale):
    mail = render(renderer, event_type, locale, occurred_at=WHEN)
    moment = local_time(WHEN, locale)
    assert moment in mail.text and moment in read_html(mail.html).text
    without = render(renderer, event_type, locale, occurred_at=None)
    assert moment not in without.text and moment not in without.html


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_mails_read_well_without_any_names(renderer, event_type, locale):
    overrides = {f: "" for f in ("inviter_name", "changed_by_name", "removed_by_name", "from_name",
                                 "previous_owner_name", "new_owner_name", "required_by_name")
                 if f in SAMPLES[event_type]}
    raw = {"to": "anna.nowak@example.pl", "locale": locale, **SAMPLES[event_type], **overrides}
    mail = renderer.render(event_type, load_payload(event_type, raw))
    greeting = "Dzień dobry," if locale == "pl" else "Hello,"
    assert mail.text.startswith(greeting)
    assert greeting in read_html(mail.html).text
    for part in (mail.text, read_html(mail.html).text):
        assert " ," not in part and " ." not in part and ": \n" not in part
        assert not re.search(r"(?m)^\s*(Zmianę wprowadził\(a\)|Changed by|Removed by|Wymóg włączył\(a\)|"
                             r"Required by):\s*$", part)
        assert "Jan Kowalski" not in part


HOSTILE = "<script>alert(1)</script> & Co"


@pytest.mark.parametrize(
    "event_type, field",
    [(t, f) for t in EVENT_TYPES for f in ("company_name", "device_name") if f in SAMPLES[t]],
)
def test_a_hostile_name_is_escaped_in_html_and_verbatim_in_text(renderer, event_type, field):
    mail = render(renderer, event_type, **{field: HOSTILE})
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in mail.html
    assert "script" not in read_html(mail.html).tags
    assert HOSTILE in read_html(mail.html).text
    assert HOSTILE in mail.text
    if field == "company_name" and event_type not in COMPANY_NOT_IN_SUBJECT:
        assert HOSTILE in mail.subject


def test_a_line_break_in_a_name_cannot_reach_the_subject_header(renderer):
    mail = render(renderer, "member_invited", company_name="Firma\r\nBcc: victim@example.pl")
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.subject == "Kadra: zaproszenie do firmy Firma Bcc: victim@example.pl"


def test_polish_diacritics_survive_in_every_part(renderer):
    mail = render(renderer, "member_invited", "pl")
    assert mail.subject == "Kadra: zaproszenie do firmy Majama Michał Zając"
    assert "Majama Michał Zając" in mail.text
    assert "Majama Michał Zając" in mail.html
    assert '<meta charset="utf-8">' in mail.html
    assert "Dzień dobry" in mail.html and "&#" not in mail.html.split("<body")[1].split("Majama")[0]


@pytest.mark.parametrize(
    "event_type, letters",
    [
        ("password_reset_requested", "ł"),
        ("password_changed", "ł"),
        ("device_blocked", "ął"),
        ("member_removed", "ńęó"),
        ("ownership_transfer_requested", "ś"),
        ("email_change_notice", "ś"),
        ("signup_confirmation_requested", "ź"),
        ("signup_for_existing_account_attempted", "ś"),
    ],
)
def test_polish_subjects_keep_their_letters(renderer, event_type, letters):
    subject = render(renderer, event_type, "pl").subject
    for letter in letters:
        assert letter in subject, subject
    subject.encode("utf-8")


def test_local_time_is_warsaw_time_in_the_recipients_language():
    assert local_time(dt.datetime(2026, 11, 30, 13, 5, tzinfo=dt.timezone.utc), "pl") == "30.11.2026, 14:05"
    assert local_time("2026-11-30T13:05:00+00:00", "en") == "30 Nov 2026, 14:05 (Warsaw time)"
    assert local_time("2026-07-01T12:00:00Z", "pl") == "01.07.2026, 14:00"  # summer time
    assert local_time("2026-07-01T12:00:00", "en") == "1 Jul 2026, 14:00 (Warsaw time)"  # naive = UTC


@pytest.mark.parametrize("locale, expected", [("pl", "30.11.2026, 14:05"), ("en", "30 Nov 2026, 14:05 (Warsaw time)")])
def test_the_invitation_says_who_where_which_role_and_until_when(renderer, locale, expected):
    mail = render(renderer, "member_invited", locale)
    for part in (squash(mail.text), read_html(mail.html).text):
        assert "Jan Kowalski" in part and "Majama Michał Zając" in part and "magazynier" in part
        assert expected in part


@pytest.mark.parametrize("via, pl_phrase", [("reset", "za pomocą linku"), ("change", "w ustawieniach konta")])
def test_password_changed_says_how(renderer, via, pl_phrase):
    mail = render(renderer, "password_changed", via=via)
    assert pl_phrase in mail.text and pl_phrase in mail.html


@pytest.mark.parametrize("method, change, other_on, locale, phrases", [
    ("totp", "enabled", False, "pl", ["z kodem z aplikacji uwierzytelniającej zostało włączone", "kody zapasowe"]),
    ("phone", "enabled", False, "pl", ["Potwierdzanie logowania w aplikacji mobilnej na zaufanym telefonie zostało "
                                       "włączone", "liczbę widoczną na ekranie logowania"]),
    ("phone", "disabled", False, "pl", ["zostało wyłączone", "wymaga tylko hasła"]),
    ("phone", "disabled", True, "pl", ["zostało wyłączone", "nadal wymaga drugiego kroku"]),
    ("totp", "disabled", True, "en", ["was turned off", "still asks for a second step"]),
    ("phone", "enabled", False, "en", ["Approving logins in the mobile app on your trusted phone was turned on",
                                       "the number shown on the login screen"]),
])
def test_the_second_factor_notice_names_the_method_and_what_is_left(renderer, method, change, other_on, locale,
                                                                   phrases):
    mail = render(renderer, "second_factor_changed", locale=locale, method=method, change=change, other_on=other_on)
    for phrase in phrases:
        assert phrase in mail.text and phrase in read_html(mail.html).text
    if change == "disabled" and other_on:
        assert "tylko hasła" not in mail.text and "only for your password" not in mail.text
    assert ("mobile" in mail.subject or "mobilnej" in mail.subject) == (method == "phone")


@pytest.mark.parametrize("platform, label", [("android", "Android"), ("ios", "iOS")])
def test_device_paired_names_the_platform(renderer, platform, label):
    mail = render(renderer, "device_paired", platform=platform)
    assert f"Pixel 8 Anny ({label})" in mail.text
    assert f"Pixel 8 Anny ({label})" in read_html(mail.html).text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_sign_up_confirmation_keeps_the_company_name_out_of_the_subject(renderer, locale):
    mail = render(renderer, "signup_confirmation_requested", locale, company_name="Pilne: dopłata VAT")
    assert "Pilne" not in mail.subject
    assert "Pilne: dopłata VAT" in mail.text and "Pilne: dopłata VAT" in read_html(mail.html).text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_notice_to_an_existing_account_offers_login_and_reset_and_no_token(renderer, locale):
    mail = render(renderer, "signup_for_existing_account_attempted", locale)
    assert {urlsplit(u).path for u in text_urls(mail.text)} == {"/app/login", "/app/forgot-password"}
    assert "#token=" not in mail.text + mail.html


def test_the_product_name_is_configurable(renderer):
    mail = Renderer(PUBLIC_URL, product_name="Fakturowanie").render(
        "password_reset_requested", payload_for("password_reset_requested"))
    assert mail.subject == "Fakturowanie: ustaw nowe hasło"
    assert "Kadra" not in mail.text + mail.html


def test_an_unknown_event_type_has_no_template(renderer):
    with pytest.raises(UnknownTemplate):
        renderer.render("member_teleported", {"to": "a@example.pl", "locale": "pl"})


def test_an_event_whose_template_is_missing_raises_unknown_template(renderer, monkeypatch):
    monkeypatch.setitem(rendering.MAIL_EVENTS, "ghost_seen", MailEvent("ghost_seen", "ghost", MailPayloadSchema))
    with pytest.raises(UnknownTemplate) as caught:
        renderer.render("ghost_seen", {"to": "a@example.pl", "locale": "pl", "full_name": ""})
    assert isinstance(caught.value, LookupError)


def test_a_language_without_templates_raises_unknown_template(renderer):
    payload = dict(payload_for("password_reset_requested"), locale="de")
    with pytest.raises(UnknownTemplate):
        renderer.render("password_reset_requested", payload)


def test_a_missing_variable_is_an_error_not_a_blank(renderer):
    payload = payload_for("role_changed")
    del payload["new_role_label"]
    with pytest.raises(UndefinedError):
        renderer.render("role_changed", payload)


@pytest.mark.parametrize("cause, en_phrase, pl_phrase", [
    ("password_reset", "reset link", "za pomocą linku"),
    ("email_revert", "this wasn't me", "to nie ja"),
])
def test_device_removed_says_why_and_names_the_device(renderer, cause, en_phrase, pl_phrase):
    for locale, phrase in (("en", en_phrase), ("pl", pl_phrase)):
        mail = render(renderer, "device_removed", locale, cause=cause)
        assert "Pixel 8 Anny" in mail.subject
        for part in (squash(mail.text), read_html(mail.html).text):
            assert phrase in part and "Pixel 8 Anny (Android)" in part


@pytest.mark.parametrize("locale, phrase", [("en", "was removed from your account"), ("pl", "usunięto urządzenie")])
def test_a_device_the_person_removed_says_so_and_names_it(renderer, locale, phrase):
    mail = render(renderer, "device_removed", locale, cause="removed")
    assert "Pixel 8 Anny" in mail.subject
    for part in (squash(mail.text), read_html(mail.html).text):
        assert phrase in part and "Pixel 8 Anny (Android)" in part
        assert "reset link" not in part and "this wasn't me" not in part


@pytest.mark.parametrize("locale", LOCALES)
def test_the_replacement_notice_names_both_phones(renderer, locale):
    mail = render(renderer, "device_replaced", locale)
    assert "iPhone 15 Anny" in mail.subject and "Pixel 8 Anny" in mail.subject
    for part in (squash(mail.text), read_html(mail.html).text):
        assert "iPhone 15 Anny (iOS)" in part and "Pixel 8 Anny (Android)" in part


@pytest.mark.parametrize("became_owner, locale, phrases", [
    (True, "pl", ("jesteś teraz właścicielem", "Twoja rola: właściciel / prezes")),
    (False, "pl", ("Nie jesteś już jej właścicielem", "Twoja rola: zarząd / pełnomocnik / księgowy")),
    (True, "en", ("you now own", "Your role: owner / president")),
    (False, "en", ("You are no longer its owner", "Your role: management / proxy / accountant")),
])
def test_the_ownership_notice_tells_each_side_its_role_now(renderer, became_owner, locale, phrases):
    label = phrases[1].split(": ", 1)[1]
    mail = render(renderer, "ownership_transferred", locale, became_owner=became_owner, role_label=label)
    assert "Majama Michał Zając" in mail.subject
    text = squash(mail.subject + " " + mail.text)
    for phrase in phrases:
        assert phrase in text
    assert phrases[1].replace(": ", ":") in read_html(mail.html).text.replace(": ", ":")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_email_change_notices_name_both_addresses_and_differ_by_recipient(renderer, locale):
    to_old = render(renderer, "email_changed", locale, sent_to="old")
    to_new = render(renderer, "email_changed", locale, sent_to="new")
    for mail in (to_old, to_new):
        assert "anna.nowak@example.pl" in mail.text and "anna.nowa@example.pl" in mail.text
    assert "/app/forgot-password" in to_old.text and "/app/forgot-password" not in to_new.text
    restored = render(renderer, "email_change_reverted", locale, sent_to="restored")
    undone = render(renderer, "email_change_reverted", locale, sent_to="undone")
    for mail in (restored, undone):
        assert "anna.nowak@example.pl" in mail.text and "anna.nowa@example.pl" in mail.text
    assert "/app/forgot-password" in restored.text and "/app/forgot-password" not in undone.text
