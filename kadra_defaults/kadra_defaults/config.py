"""Settings from the environment, with defaults that work on one machine.

Every name here is part of the product's contract (docs/product.md); a value
given in the environment always wins over the default.
"""
import os

AMQP_URI = "KADRA_AMQP_URI"
MONGO_URI = "KADRA_MONGO_URI"
MONGO_DB_PREFIX = "KADRA_MONGO_DB_PREFIX"
SMTP_HOST = "KADRA_SMTP_HOST"
SMTP_PORT = "KADRA_SMTP_PORT"
SMTP_USER = "KADRA_SMTP_USER"
SMTP_PASSWORD = "KADRA_SMTP_PASSWORD"
SMTP_TLS = "KADRA_SMTP_TLS"
MAIL_FROM = "KADRA_MAIL_FROM"
PUBLIC_URL = "KADRA_PUBLIC_URL"
GATEWAY_PORT = "KADRA_GATEWAY_PORT"
HEALTH_PORT = "KADRA_HEALTH_PORT"
RPC_TIMEOUT = "KADRA_RPC_TIMEOUT"
LOG_LEVEL = "KADRA_LOG_LEVEL"
JWT_PRIVATE_KEY_FILE = "KADRA_JWT_PRIVATE_KEY_FILE"
JWT_PUBLIC_KEY_FILE = "KADRA_JWT_PUBLIC_KEY_FILE"
SERVICE_TOKEN_SECRET = "KADRA_SERVICE_TOKEN_SECRET"
SERVICE_TOKEN_SECRET_FILE = "KADRA_SERVICE_TOKEN_SECRET_FILE"
AMQP_QUEUE_TYPE = "KADRA_AMQP_QUEUE_TYPE"
TRUSTED_PROXIES = "KADRA_TRUSTED_PROXIES"

DEFAULTS = {
    AMQP_URI: "amqp://guest:guest@127.0.0.1:5672/",
    MONGO_URI: "mongodb://127.0.0.1:27017/",
    MONGO_DB_PREFIX: "kadra",
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: "1025",
    SMTP_USER: "",
    SMTP_PASSWORD: "",
    SMTP_TLS: "none",
    MAIL_FROM: "Kadra <no-reply@kadra.local>",
    PUBLIC_URL: "http://127.0.0.1:8000",
    GATEWAY_PORT: "8000",
    HEALTH_PORT: "8080",
    RPC_TIMEOUT: "4",
    LOG_LEVEL: "INFO",
    JWT_PRIVATE_KEY_FILE: ".kadra/keys/jwt-ed25519.pem",
    JWT_PUBLIC_KEY_FILE: ".kadra/keys/jwt-ed25519.pub.pem",
    SERVICE_TOKEN_SECRET: "",
    SERVICE_TOKEN_SECRET_FILE: ".kadra/keys/service-token.secret",
    AMQP_QUEUE_TYPE: "classic",
    TRUSTED_PROXIES: "0",
}

SECRET_NAMES = frozenset({SMTP_PASSWORD, SERVICE_TOKEN_SECRET})


def get(name: str) -> str:
    """The value of a setting: the environment's if set, else the default."""
    value = os.environ.get(name)
    if value is None or value == "":
        return DEFAULTS[name]
    return value


def get_int(name: str) -> int:
    """An integer setting; a bad value names the variable."""
    raw = get(name)
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def get_float(name: str) -> float:
    """A number setting; a bad value names the variable."""
    raw = get(name)
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def database_name(service: str) -> str:
    """Each service has its own database: `<prefix>_<service>`."""
    return f"{get(MONGO_DB_PREFIX)}_{service}"
