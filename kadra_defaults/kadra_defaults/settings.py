"""Every setting of every Kadra process, read from the environment and validated in one place.

``current()`` is the validated ``Settings`` of this process (environs parses, with marshmallow
underneath). A bad value raises ``SettingsError``, whose one line names the variable and what it
accepts; ``kadra-check-settings`` prints exactly that and exits 2, so ``make run`` and each
process's start stop before anything runs::

    KADRA_GATEWAY_PORT must be a port number (1-65535), got 'abc'

Each name is part of the product's contract (docs/product.md, the README's table); a value given in
the environment always wins over the default, and every default works on one machine. Components
read what they need once, when they start (a DependencyProvider's ``setup``, ``create_app``), never
on a hot path.
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, fields as dataclass_fields
from typing import Any, Callable

from environs import Env, EnvError
from marshmallow import ValidationError
from marshmallow.validate import OneOf, Range, Regexp

PREFIX = "KADRA_"


class SettingsError(ValueError):
    """A setting's value is not one it accepts; the message is one line naming the variable."""


@dataclass(frozen=True)
class Spec:
    """One environment variable: its name, default, how it is read, and what it accepts (in words)."""

    name: str
    default: Any
    read: Callable[[Env, str, Any], Any]
    accepts: str
    secret: bool = False


def _text(env, name, default):
    return env.str(name, default) or default


def _choice(*options, lower=True):
    def read(env, name, default):
        value = env.str(name, default) or default
        value = value.strip().lower() if lower else value.strip()
        OneOf(options)(value)
        return value
    return read


def _whole(minimum, maximum=None):
    def read(env, name, default):
        return env.int(name, default, validate=Range(min=minimum, max=maximum))
    return read


def _seconds(minimum=0.0, *, exclusive=False):
    def read(env, name, default):
        return env.float(name, default, validate=Range(min=minimum, min_inclusive=not exclusive))
    return read


def _uri_pattern(*schemes):
    return Regexp(r"^(%s)://\S+$" % "|".join(s.replace("+", r"\+") for s in schemes))


def _uri(*schemes):
    pattern = _uri_pattern(*schemes)

    def read(env, name, default):
        value = (env.str(name, default) or default).strip()
        pattern(value)
        return value
    return read


AMQP_SEPARATOR = ";"


def _uri_list(*schemes):
    """One URI, or several separated by ';' (kombu's failover syntax, which nameko hands to kombu as is)."""
    pattern = _uri_pattern(*schemes)

    def read(env, name, default):
        value = (env.str(name, default) or default).strip()
        for part in value.split(AMQP_SEPARATOR):
            pattern(part)  # an empty part (';;', a trailing ';') or a space fails like a bad URI
            if part.count("://") != 1:  # two URIs joined by something else than ';'
                raise ValidationError("not one URI")
        return value
    return read


def amqp_uris(value: str | None = None) -> list[str]:
    """The broker addresses in KADRA_AMQP_URI (or ``value``), in the order clients try them."""
    raw = current().amqp_uri if value is None else value
    return [part.strip() for part in raw.split(AMQP_SEPARATOR) if part.strip()]


def _delays(env, name, default):
    raw = (env.str(name, "") or "").strip()
    if not raw:
        return default
    try:
        values = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise EnvError(name) from None
    if not values or any(value <= 0 for value in values):
        raise EnvError(name)
    return values


def _long_secret(value: str) -> str:
    """HS256 wants a key of at least 32 bytes (RFC 7518 3.2); a shorter one is refused, not warned about."""
    if value and len(value.encode()) < 32:
        raise ValidationError("too short")
    return value


def _flag(env, name, default):
    return env.bool(name, default)


_HTTPS_URL = Regexp(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$")


def _https_url(env, name, default):
    """A link a page shows (an app store's page): https only, a host, no spaces; empty: no link."""
    value = (env.str(name, default) or default).strip()
    if value:
        _HTTPS_URL(value)
    return value


PORT = "a port number (1-65535)"
SPECS = (
    Spec("KADRA_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", _uri_list("amqp", "amqps"),
         "an amqp:// or amqps:// URI, or several separated by ';' (a cluster's nodes)"),
    Spec("KADRA_AMQP_QUEUE_TYPE", "classic", _choice("classic", "quorum"), "classic or quorum"),
    Spec("KADRA_MONGO_URI", "mongodb://127.0.0.1:27017/", _uri("mongodb", "mongodb+srv"),
         "a mongodb:// or mongodb+srv:// URI"),
    Spec("KADRA_MONGO_DB_PREFIX", "kadra",
         lambda env, name, default: env.str(name, default, validate=Regexp(r"^[A-Za-z0-9_]{1,40}$")) or default,
         "1 to 40 letters, digits or underscores"),
    Spec("KADRA_SMTP_HOST", "127.0.0.1", _text, "a host name"),
    Spec("KADRA_SMTP_PORT", 1025, _whole(1, 65535), PORT),
    Spec("KADRA_SMTP_USER", "", lambda env, name, default: env.str(name, default), "a user name (empty: no login)"),
    Spec("KADRA_SMTP_PASSWORD", "", lambda env, name, default: env.str(name, default), "a password", secret=True),
    Spec("KADRA_SMTP_TLS", "none", _choice("none", "starttls", "tls"), "one of none, starttls, tls"),
    Spec("KADRA_MAIL_FROM", "Kadra <no-reply@kadra.local>", _text, "a sender such as 'Kadra <no-reply@example.com>'"),
    Spec("KADRA_PUBLIC_URL", "http://127.0.0.1:8000", _uri("http", "https"), "an http:// or https:// URL"),
    Spec("KADRA_GATEWAY_PORT", 8000, _whole(1, 65535), PORT),
    Spec("KADRA_GATEWAY_WORKERS", 2 * (os.cpu_count() or 1), _whole(1, 256), "a whole number of workers (1-256)"),
    Spec("KADRA_GATEWAY_THREADS", 4, _whole(1, 256), "a whole number of threads (1-256)"),
    Spec("KADRA_GATEWAY_SPOOL_DIR", "", lambda env, name, default: env.str(name, default), "a directory"),
    Spec("KADRA_HEALTH_PORT", 8080, _whole(1, 65535), PORT),
    Spec("KADRA_MANAGEMENT_PORT", 9000, _whole(1, 65535), PORT),
    Spec("KADRA_RPC_TIMEOUT", 4.0, _seconds(0, exclusive=True), "a number of seconds above 0"),
    Spec("KADRA_LOG_LEVEL", "INFO",
         lambda env, name, default: _choice("debug", "info", "warning", "error", "critical")(env, name, default).upper(),
         "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    Spec("KADRA_JWT_PRIVATE_KEY_FILE", ".kadra/keys/jwt-ed25519.pem", _text, "a file path"),
    Spec("KADRA_JWT_PUBLIC_KEY_FILE", ".kadra/keys/jwt-ed25519.pub.pem", _text, "a file path"),
    # The key ring (kadra_defaults.contracts.access_tokens); empty: the two single files above.
    Spec("KADRA_JWT_KEYS_DIR", "", lambda env, name, default: env.str(name, default), "a directory"),
    Spec("KADRA_JWT_PUBLIC_KEYS_DIR", "", lambda env, name, default: env.str(name, default), "a directory"),
    Spec("KADRA_SERVICE_TOKEN_SECRET", "",
         lambda env, name, default: _long_secret(env.str(name, default)),
         "a secret of at least 32 bytes (e.g. 64 hex digits)", secret=True),
    Spec("KADRA_SERVICE_TOKEN_SECRET_FILE", ".kadra/keys/service-token.secret", _text, "a file path"),
    Spec("KADRA_TRUSTED_PROXIES", 0, _whole(0, 16), "a whole number of proxies (0 or more)"),
    Spec("KADRA_HASH_CONCURRENCY", None, _whole(1, 1024), "a whole number (1 or more; default: the CPU count)"),
    Spec("KADRA_NOTIFY_RETRY_DELAYS", (1.0, 5.0, 30.0, 120.0, 600.0), _delays,
         "seconds separated by commas, each above 0 (e.g. 1,5,30)"),
    Spec("KADRA_NOTIFY_PREFETCH", 32, _whole(1, 10000), "a whole number (1 or more)"),
    Spec("KADRA_NOTIFY_CONCURRENCY", 8, _whole(1, 1000), "a whole number (1 or more)"),
    Spec("KADRA_NOTIFY_STOP_GRACE", 15.0, _seconds(0), "a number of seconds (0 or more)"),
    Spec("KADRA_NOTIFY_JOURNAL_DIR", os.path.join(tempfile.gettempdir(), "kadra-notify-journal"), _text,
         "a directory"),
    Spec("KADRA_MAIL_LOG_RETENTION_DAYS", 90, _whole(1, 36500), "a whole number of days (1 or more)"),
    Spec("KADRA_ALLOW_CLOCK_CONTROL", False, _flag, "1 or 0 (tests only)"),
    # Abuse limits (kadra_defaults.limits): 0 turns one off. A busy office's normal day never meets them.
    Spec("KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR", 20, _whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_RESETS_PER_CLIENT_HOUR", 30, _whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_INVITATIONS_PER_COMPANY_DAY", 200, _whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_INVITATIONS_PER_INVITER_DAY", 100, _whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_COMPANIES_PER_ACCOUNT_DAY", 10, _whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_EMAIL_CHANGES_PER_ACCOUNT_DAY", 5, _whole(0), "a whole number (0: no limit)"),
    # The mobile app's pages in the stores, linked from the web page "Aplikacja mobilna" (empty: no link).
    Spec("KADRA_APP_STORE_URL", "", _https_url, "an https:// URL (empty: no link)"),
    Spec("KADRA_PLAY_STORE_URL", "", _https_url, "an https:// URL (empty: no link)"),
)


@dataclass(frozen=True)
class Settings:
    """The validated settings of this process; attribute = variable name without KADRA_, lower case."""

    amqp_uri: str
    amqp_queue_type: str
    mongo_uri: str
    mongo_db_prefix: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_tls: str
    mail_from: str
    public_url: str
    gateway_port: int
    gateway_workers: int
    gateway_threads: int
    gateway_spool_dir: str
    health_port: int
    management_port: int
    rpc_timeout: float
    log_level: str
    jwt_private_key_file: str
    jwt_public_key_file: str
    jwt_keys_dir: str
    jwt_public_keys_dir: str
    service_token_secret: str
    service_token_secret_file: str
    trusted_proxies: int
    hash_concurrency: int | None
    notify_retry_delays: tuple
    notify_prefetch: int
    notify_concurrency: int
    notify_stop_grace: float
    notify_journal_dir: str
    mail_log_retention_days: int
    allow_clock_control: bool
    limit_signups_per_client_hour: int
    limit_resets_per_client_hour: int
    limit_invitations_per_company_day: int
    limit_invitations_per_inviter_day: int
    limit_companies_per_account_day: int
    limit_email_changes_per_account_day: int
    app_store_url: str
    play_store_url: str

    def database_name(self, service: str) -> str:
        """Each service has its own database: `<prefix>_<service>`."""
        return f"{self.mongo_db_prefix}_{service}"

    def __repr__(self) -> str:  # never a secret
        shown = {spec.name: ("***" if spec.secret and getattr(self, _attr(spec)) else getattr(self, _attr(spec)))
                 for spec in SPECS}
        return f"Settings({shown})"


def _attr(spec: Spec) -> str:
    return spec.name[len(PREFIX):].lower()


assert [_attr(spec) for spec in SPECS] == [f.name for f in dataclass_fields(Settings)], "SPECS and Settings differ"


def load() -> Settings:
    """Read and validate every setting from the environment; SettingsError names the first bad one."""
    env = Env(expand_vars=False)
    values = {}
    for spec in SPECS:
        raw = os.environ.get(spec.name)
        try:
            values[_attr(spec)] = spec.default if raw is None or raw == "" else spec.read(env, spec.name, spec.default)
        except (EnvError, ValueError, ValidationError):
            shown = "***" if spec.secret else repr(raw)
            raise SettingsError(f"{spec.name} must be {spec.accepts}, got {shown}") from None
    return Settings(**values)


_cache: dict = {}


def current() -> Settings:
    """This process's settings: read once per distinct KADRA_* environment (tests change it), then kept."""
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    found = _cache.get(key)
    if found is None:
        _cache.clear()
        found = _cache[key] = load()
    return found


def check_or_exit(what: str = "kadra") -> Settings:
    """The settings, or one line on stderr naming the bad variable and exit status 2 (no traceback)."""
    try:
        return current()
    except SettingsError as error:
        sys.stderr.write(f"{what}: {error}\n")
        raise SystemExit(2) from None


def main() -> None:
    """`kadra-check-settings`: validate the environment's settings; exit 2 with one line when one is bad."""
    check_or_exit("kadra-check-settings")
