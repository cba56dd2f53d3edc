"""JSON-lines logging with the request id of the work in hand on every line."""
import json
import logging
import sys
from datetime import datetime, timezone

from kadra_defaults import settings
from kadra_defaults.tracing import current_request_id

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, request id, extras."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(service: str, level: str | None = None) -> None:
    """Send every logger's records to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or settings.current().log_level).upper())
    # pika and kombu are chatty at INFO about every connection step.
    for noisy in ("pika", "kombu", "amqp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def logging_config(service: str) -> dict:
    """The same set-up as a dictConfig, for nameko's LOGGING config key."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
        "root": {"level": settings.current().log_level, "handlers": ["stdout"]},
        "loggers": {name: {"level": "WARNING"} for name in ("pika", "kombu", "amqp")},
    }
