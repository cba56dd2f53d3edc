"""Rendering of a mail event into its subject, plain-text and HTML parts.

Templates live in ``templates/`` next to this module:
``<lang>/<template>.subject.txt``, ``<lang>/<template>.txt`` (extends
``base.txt``) and ``<lang>/<template>.html`` (extends ``base.html``).
Links carry one-time tokens in the URL fragment, so a token never reaches a
server's access log.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from kadra_defaults.contracts.mail import DEFAULT_LOCALE, LOCALES, MAIL_EVENTS

TEMPLATES_DIR = Path(__file__).with_name("templates")
LOCAL_TIME_ZONE = ZoneInfo("Europe/Warsaw")

# template -> (page of the web app, payload field holding the token)
TOKEN_LINKS = {
    "invitation": ("accept-invitation", "token"),
    "password_reset": ("reset-password", "token"),
    "email_change_confirm": ("confirm-email", "token"),
    "email_change_notice": ("revert-email", "undo_token"),
    "ownership_transfer": ("accept-ownership", "token"),
    "signup_confirm": ("confirm-account", "token"),
}
MOBILE_PAGE = "mobile"
FORGOT_PASSWORD_PAGE = "forgot-password"
LOGIN_PAGE = "login"

_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


@dataclass(frozen=True)
class RenderedMail:
    """The three parts of an e-mail, ready for SMTP."""

    subject: str
    text: str
    html: str


class UnknownTemplate(LookupError):
    """No template exists for this event type (or language)."""


def local_time(value: dt.datetime | str, locale: str) -> str:
    """A moment in Warsaw time, as the recipient's language writes it."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # the contract sends UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    local = value.astimezone(LOCAL_TIME_ZONE)
    if locale == "en":
        month = _EN_MONTHS[local.month - 1]
        return f"{local.day} {month} {local.year}, {local:%H:%M} (Warsaw time)"
    return f"{local:%d.%m.%Y, %H:%M}"


@pass_context
def _when_filter(context: Any, value: dt.datetime | str) -> str:
    return local_time(value, context["locale"])


class Renderer:
    """Renders mail events with the Jinja templates of the notify service."""

    def __init__(self, public_url: str, product_name: str = "Kadra") -> None:
        self.public_url = public_url.rstrip("/")
        self.product_name = product_name
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(
                enabled_extensions=("html",), default_for_string=False
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["when"] = _when_filter

    def app_url(self, page: str) -> str:
        """The address of a page of the web app."""
        return f"{self.public_url}/app/{page}"

    def token_url(self, page: str, token: str) -> str:
        """A page of the web app with the token in the fragment (never sent to a server)."""
        return f"{self.app_url(page)}#token={quote(token, safe='')}"

    def render(
        self,
        event_type: str,
        payload: dict,
        occurred_at: dt.datetime | str | None = None,
    ) -> RenderedMail:
        """Render a loaded payload (see ``load_payload``) into subject, text and HTML.

        ``occurred_at`` (the envelope's) is optional; notices without a moment
        of their own (role changed, member removed, e-mail change) show it.
        """
        event = MAIL_EVENTS.get(event_type)
        if event is None:
            raise UnknownTemplate(event_type)
        locale = payload.get("locale") or DEFAULT_LOCALE
        if locale not in LOCALES:
            raise UnknownTemplate(f"{event_type} ({locale})")
        context = self._context(event.template, payload, locale, occurred_at)
        name = f"{locale}/{event.template}"
        try:
            subject_template = self._env.get_template(f"{name}.subject.txt")
            text_template = self._env.get_template(f"{name}.txt")
            html_template = self._env.get_template(f"{name}.html")
        except TemplateNotFound as exc:
            raise UnknownTemplate(f"{event_type}: {exc.name}") from exc
        # One line, always: a name with a line break must not reach the header.
        subject = " ".join(subject_template.render(context).split())
        context["subject"] = subject
        text = _BLANK_LINES.sub("\n\n", text_template.render(context)).strip() + "\n"
        html = html_template.render(context).strip() + "\n"
        return RenderedMail(subject=subject, text=text, html=html)

    def _context(
        self, template: str, payload: dict, locale: str, occurred_at: Any
    ) -> dict:
        context = {
            "full_name": "",
            **payload,
            "locale": locale,
            "product_name": self.product_name,
            "public_url": self.public_url,
            "occurred_at": occurred_at,
            "mobile_url": self.app_url(MOBILE_PAGE),
            "forgot_password_url": self.app_url(FORGOT_PASSWORD_PAGE),
            "login_url": self.app_url(LOGIN_PAGE),
        }
        if template in TOKEN_LINKS:
            page, field = TOKEN_LINKS[template]
            context["action_url"] = self.token_url(page, payload[field])
        return context
