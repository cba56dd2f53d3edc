"""The gateway's app factory: `gunicorn 'gateway.app:create_app()'`."""
import logging
import re

from flask import Flask, g, request
from flask_smorest import Api

from kadra_defaults import config as settings
from kadra_defaults.logs import setup_logging
from kadra_defaults.tracing import new_request_id, set_request_id
from gateway import errors, metrics
from gateway.rpc import RpcClient

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = logging.getLogger("gateway.access")


def create_app(config: dict | None = None) -> Flask:
    """Build the gateway; `config` overrides settings (tests pass a fake RPC_CLIENT)."""
    app = Flask(__name__)
    app.config.update(
        API_TITLE="Kadra API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    if not app.config.get("TESTING"):
        setup_logging("gateway")

    api = Api(app)
    errors.register(app)
    metrics.install(app)
    app.extensions["kadra_rpc"] = app.config.get("RPC_CLIENT") or RpcClient(
        timeout=settings.get_float(settings.RPC_TIMEOUT))

    from gateway.api import health

    api.register_blueprint(health.blp)
    _install_request_context(app)
    return app


def _install_request_context(app: Flask) -> None:
    """A request id per request (the caller's X-Request-ID if sane), echoed back and logged."""

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        set_request_id(g.request_id)

    @app.after_request
    def tag_response(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        log.info("request", extra={"method": request.method, "route": request.url_rule.rule if request.url_rule else None,
                                   "status": response.status_code})
        return response

    @app.teardown_request
    def clear_request_id(exc=None):
        set_request_id(None)
