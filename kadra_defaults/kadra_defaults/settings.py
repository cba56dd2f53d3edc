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

from environs import Env, EnvError
from marshmallow import ValidationError
from marshmallow.validate import Regexp

from kadra_defaults.setting_readers import (AMQP_SEPARATOR, Spec, read_choice, read_delays, read_flag,
                                            read_https_url, read_long_secret, read_seconds, read_text, read_uri,
                                            read_uri_list, read_whole)

PREFIX = "KADRA_"


class SettingsError(ValueError):
    """A setting's value is not one it accepts; the message is one line naming the variable."""


def amqp_uris(value: str | None = None) -> list[str]:
    """The broker addresses in KADRA_AMQP_URI (or ``value``), in the order clients try them."""
    raw = current().amqp_uri if value is None else value
    return [part.strip() for part in raw.split(AMQP_SEPARATOR) if part.strip()]


PORT = "a port number (1-65535)"
SPECS = (
    Spec("KADRA_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", read_uri_list("amqp", "amqps"),
         "an amqp:// or amqps:// URI, or several separated by ';' (a cluster's nodes)"),
    Spec("KADRA_AMQP_QUEUE_TYPE", "classic", read_choice("classic", "quorum"), "classic or quorum"),
    Spec("KADRA_MONGO_URI", "mongodb://127.0.0.1:27017/", read_uri("mongodb", "mongodb+srv"),
         "a mongodb:// or mongodb+srv:// URI"),
    Spec("KADRA_MONGO_DB_PREFIX", "kadra",
         lambda env, name, default: env.str(name, default, validate=Regexp(r"^[A-Za-z0-9_]{1,40}$")) or default,
         "1 to 40 letters, digits or underscores"),
    Spec("KADRA_SMTP_HOST", "127.0.0.1", read_text, "a host name"),
    Spec("KADRA_SMTP_PORT", 1025, read_whole(1, 65535), PORT),
    Spec("KADRA_SMTP_USER", "", lambda env, name, default: env.str(name, default), "a user name (empty: no login)"),
    Spec("KADRA_SMTP_PASSWORD", "", lambda env, name, default: env.str(name, default), "a password", secret=True),
    Spec("KADRA_SMTP_TLS", "none", read_choice("none", "starttls", "tls"), "one of none, starttls, tls"),
    Spec("KADRA_MAIL_FROM", "Kadra <no-reply@kadra.local>", read_text,
         "a sender such as 'Kadra <no-reply@example.com>'"),
    Spec("KADRA_PUBLIC_URL", "http://127.0.0.1:8000", read_uri("http", "https"), "an http:// or https:// URL"),
    Spec("KADRA_GATEWAY_PORT", 8000, read_whole(1, 65535), PORT),
    Spec("KADRA_GATEWAY_WORKERS", 2 * (os.cpu_count() or 1), read_whole(1, 256), "a whole number of workers (1-256)"),
    Spec("KADRA_GATEWAY_THREADS", 4, read_whole(1, 256), "a whole number of threads (1-256)"),
    Spec("KADRA_GATEWAY_SPOOL_DIR", "", lambda env, name, default: env.str(name, default), "a directory"),
    Spec("KADRA_HEALTH_PORT", 8080, read_whole(1, 65535), PORT),
    Spec("KADRA_MANAGEMENT_PORT", 9000, read_whole(1, 65535), PORT),
    Spec("KADRA_RPC_TIMEOUT", 4.0, read_seconds(0, exclusive=True), "a number of seconds above 0"),
    Spec("KADRA_LOG_LEVEL", "INFO",
         lambda env, name, default: read_choice("debug", "info", "warning", "error",
                                                "critical")(env, name, default).upper(),
         "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    Spec("KADRA_JWT_PRIVATE_KEY_FILE", ".kadra/keys/jwt-ed25519.pem", read_text, "a file path"),
    Spec("KADRA_JWT_PUBLIC_KEY_FILE", ".kadra/keys/jwt-ed25519.pub.pem", read_text, "a file path"),
    # The key ring (kadra_defaults.contracts.access_tokens); empty: the two single files above.
    Spec("KADRA_JWT_KEYS_DIR", "", lambda env, name, default: env.str(name, default), "a directory"),
    Spec("KADRA_JWT_PUBLIC_KEYS_DIR", "", lambda env, name, default: env.str(name, default), "a directory"),
    Spec("KADRA_SERVICE_TOKEN_SECRET", "",
         lambda env, name, default: read_long_secret(env.str(name, default)),
         "a secret of at least 32 bytes (e.g. 64 hex digits)", secret=True),
    Spec("KADRA_SERVICE_TOKEN_SECRET_FILE", ".kadra/keys/service-token.secret", read_text, "a file path"),
    Spec("KADRA_TRUSTED_PROXIES", 0, read_whole(0, 16), "a whole number of proxies (0 or more)"),
    Spec("KADRA_HASH_CONCURRENCY", None, read_whole(1, 1024), "a whole number (1 or more; default: the CPU count)"),
    Spec("KADRA_NOTIFY_RETRY_DELAYS", (1.0, 5.0, 30.0, 120.0, 600.0), read_delays,
         "seconds separated by commas, each above 0 (e.g. 1,5,30)"),
    Spec("KADRA_NOTIFY_PREFETCH", 32, read_whole(1, 10000), "a whole number (1 or more)"),
    Spec("KADRA_NOTIFY_CONCURRENCY", 8, read_whole(1, 1000), "a whole number (1 or more)"),
    Spec("KADRA_NOTIFY_STOP_GRACE", 15.0, read_seconds(0), "a number of seconds (0 or more)"),
    Spec("KADRA_NOTIFY_JOURNAL_DIR", os.path.join(tempfile.gettempdir(), "kadra-notify-journal"), read_text,
         "a directory"),
    Spec("KADRA_MAIL_LOG_RETENTION_DAYS", 90, read_whole(1, 36500), "a whole number of days (1 or more)"),
    Spec("KADRA_ALLOW_CLOCK_CONTROL", False, read_flag, "1 or 0 (tests only)"),
    # Abuse limits (kadra_defaults.limits): 0 turns one off. A busy office's normal day never meets them.
    Spec("KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR", 20, read_whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_RESETS_PER_CLIENT_HOUR", 30, read_whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_INVITATIONS_PER_COMPANY_DAY", 200, read_whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_INVITATIONS_PER_INVITER_DAY", 100, read_whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_COMPANIES_PER_ACCOUNT_DAY", 10, read_whole(0), "a whole number (0: no limit)"),
    Spec("KADRA_LIMIT_EMAIL_CHANGES_PER_ACCOUNT_DAY", 5, read_whole(0), "a whole number (0: no limit)"),
    # The mobile app's pages in the stores, linked from the web page "Aplikacja mobilna" (empty: no link).
    Spec("KADRA_APP_STORE_URL", "", read_https_url, "an https:// URL (empty: no link)"),
    Spec("KADRA_PLAY_STORE_URL", "", read_https_url, "an https:// URL (empty: no link)"),
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
