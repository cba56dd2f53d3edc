"""Liveness and readiness, on the public port and on the management port (gateway.app).

Metrics are served on the management port only (KADRA_MANAGEMENT_PORT, gateway.app._management_app):
request counts per route and status say too much about who is being refused to be public.
"""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway import rpc
from gateway.caller import rpc_client
from gateway.errors import Problem

SERVICES = ("identity", "users", "devices", "notify")
READY_TIMEOUT = 2.0

blp = Blueprint("health", __name__, description="Liveness and readiness of the gateway")


class LiveSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"example": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"example": {"broker": "ok", "identity": "ok", "users": "ok", "devices": "ok",
                                               "notify": "ok"}})


@blp.route("/healthz")
@blp.doc(summary="Liveness: the gateway process answers")
@blp.response(200, LiveSchema, example={"status": "ok"})
def healthz():
    """The process is alive.

    Example answer: `{"status": "ok"}`
    """
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(summary="Readiness: the broker, the database and every service answer")
@blp.response(200, ReadySchema, example={"status": "ready", "checks": {"broker": "ok", "identity": "ok",
                                                                      "users": "ok", "devices": "ok", "notify": "ok"}})
@blp.alt_response(503, description="Not ready: `missing` names the broker or the services that did not answer")
def readyz():
    """Ping every service over RabbitMQ at once; each ping writes and reads that service's database.

    Example answer: `{"status": "ready", "checks": {"broker": "ok", "identity": "ok", ...}}`;
    503 problem+json with `missing: ["users"]` otherwise.
    """
    return readiness()


def readiness() -> dict:
    """The readiness answer (both ports); Problem service_unavailable naming what did not answer."""
    client = rpc_client()
    results = client.call_many([(s, "ping", (), {}) for s in SERVICES], timeout=READY_TIMEOUT)
    checks = {"broker": "ok"}
    missing = []
    for service, result in zip(SERVICES, results):
        if isinstance(result, rpc.BrokerUnavailable):
            checks["broker"] = "unavailable"
            checks[service] = "unknown"
        elif isinstance(result, Exception):
            checks[service] = _describe(result)
            missing.append(service)
        else:
            checks[service] = "ok"
    if checks["broker"] != "ok":
        missing = ["broker"]
    if missing:
        raise Problem("service_unavailable", detail=f"Not ready: {', '.join(missing)}.",
                      detail_pl=f"Niegotowe: {', '.join(missing)}.",
                      extra={"missing": missing, "checks": checks})
    return {"status": "ready", "checks": checks}


def _describe(error: Exception) -> str:
    if isinstance(error, rpc.CallTimeout):
        return "timeout"
    if isinstance(error, rpc.ServiceUnavailable):
        return "not running"
    if isinstance(error, rpc.RemoteError) and "pymongo" in error.exc_path:
        return "database unavailable"
    return "error"
