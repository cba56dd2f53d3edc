"""How each setting (kadra_defaults/settings.py's SPECS) is read from the environment and checked: a `Spec`
names the variable, its default, its reader and what it accepts in words; each reader raises environs' or
marshmallow's error for a bad value, which settings.load() turns into one line naming the variable."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from environs import Env, EnvError
from marshmallow import ValidationError
from marshmallow.validate import OneOf, Range, Regexp

AMQP_SEPARATOR = ";"


@dataclass(frozen=True)
class Spec:
    """One environment variable: its name, default, how it is read, and what it accepts (in words)."""

    name: str
    default: Any
    read: Callable[[Env, str, Any], Any]
    accepts: str
    secret: bool = False


def read_text(env, name, default):
    return env.str(name, default) or default


def read_choice(*options, lower=True):
    def read(env, name, default):
        value = env.str(name, default) or default
        value = value.strip().lower() if lower else value.strip()
        OneOf(options)(value)
        return value
    return read


def read_whole(minimum, maximum=None):
    def read(env, name, default):
        return env.int(name, default, validate=Range(min=minimum, max=maximum))
    return read


def read_seconds(minimum=0.0, *, exclusive=False):
    def read(env, name, default):
        return env.float(name, default, validate=Range(min=minimum, min_inclusive=not exclusive))
    return read


def uri_pattern(*schemes):
    return Regexp(r"^(%s)://\S+$" % "|".join(s.replace("+", r"\+") for s in schemes))


def read_uri(*schemes):
    pattern = uri_pattern(*schemes)

    def read(env, name, default):
        value = (env.str(name, default) or default).strip()
        pattern(value)
        return value
    return read


def read_uri_list(*schemes):
    """One URI, or several separated by ';' (kombu's failover syntax, which nameko hands to kombu as is)."""
    pattern = uri_pattern(*schemes)

    def read(env, name, default):
        value = (env.str(name, default) or default).strip()
        for part in value.split(AMQP_SEPARATOR):
            pattern(part)  # an empty part (';;', a trailing ';') or a space fails like a bad URI
            if part.count("://") != 1:  # two URIs joined by something else than ';'
                raise ValidationError("not one URI")
        return value
    return read


def read_delays(env, name, default):
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


def read_long_secret(value: str) -> str:
    """HS256 wants a key of at least 32 bytes (RFC 7518 3.2); a shorter one is refused, not warned about."""
    if value and len(value.encode()) < 32:
        raise ValidationError("too short")
    return value


def read_flag(env, name, default):
    return env.bool(name, default)


_HTTPS_URL = Regexp(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$")


def read_https_url(env, name, default):
    """A link a page shows (an app store's page): https only, a host, no spaces; empty: no link."""
    value = (env.str(name, default) or default).strip()
    if value:
        _HTTPS_URL(value)
    return value
