"""The gateway's app factory: `gunicorn 'gateway.app:create_app()'`."""
import importlib
import logging
import pkgutil
import re

from flask import Flask, g, request

from kadra_defaults import settings
from kadra_defaults.contracts import feed as feed_contract
from kadra_defaults.contracts.access_tokens import public_keys_of
from kadra_defaults.errors import field_error
from kadra_defaults.logs import setup_logging
from kadra_defaults.tracing import new_request_id, set_request_id
from gateway import errors, metrics, spool, state
from gateway.auth import Revocations
from gateway.copies import Companies, Memberships, Profiles
from gateway.feed import Feed
from gateway.openapi import KadraApi
from gateway.permissions import ServiceTokens, VerifiedTokens
from gateway.rpc import PerThreadRpcClient, RpcClient

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = logging.getLogger("gateway.access")


def create_app(config: dict | None = None) -> Flask:
    """Build the gateway; `config` overrides settings (tests pass a fake RPC_CLIENT, KADRA_FEED_DISABLED)."""
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
    current = settings.current()
    # What the web pages show of this installation (gateway.web.pages: /app/config.json); null: not shown.
    app.config["WEB_CONFIG"] = {"app_store_url": current.app_store_url or None,
                                "play_store_url": current.play_store_url or None}
    app.config.update(config or {})
    if not app.config.get("TESTING"):
        setup_logging("gateway")

    _trust_proxies(app)
    api = KadraApi(app)
    errors.register(app)
    metrics.install(app)
    app.extensions[state.EXTENSION] = _state(app)

    for module in _api_modules():
        api.register_blueprint(module.blp)
    _install_request_context(app)
    app.wsgi_app = ByPort(app.wsgi_app, _management_app(app.extensions[state.EXTENSION], app.config),
                          settings.current().management_port)
    return app


class ByPort:
    """WSGI: a request that came in on the management port reaches the management app, any other the API.

    gunicorn binds both ports (gateway.gunicorn_conf); the port is the listening socket's own (what the
    connection was accepted on), never a header a client could send.
    """

    def __init__(self, public, management, management_port: int):
        self.public, self.management, self.management_port = public, management, management_port

    def __call__(self, environ, start_response):
        app = self.management if local_port(environ) == self.management_port else self.public
        return app(environ, start_response)


def local_port(environ) -> int | None:
    """The port this server accepted the request on: the socket's (gunicorn), else SERVER_PORT (werkzeug)."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        try:
            name = sock.getsockname()
        except OSError:
            return None
        return name[1] if isinstance(name, tuple) else None
    try:
        return int(environ.get("SERVER_PORT") or 0)
    except ValueError:
        return None


def _management_app(kadra: state.State, config) -> Flask:
    """The management port's app (KADRA_MANAGEMENT_PORT): /metrics, /healthz and /readyz, nothing of the API.

    Prometheus scrapes it from inside the cluster (deploy/k8s: NetworkPolicy, annotations); the
    public port answers /metrics with 404. It shares the API app's state (the RPC client readyz uses).
    """
    from gateway.api import health

    management = Flask("gateway.management")
    management.config.update(TESTING=config.get("TESTING", False), JSON_SORT_KEYS=False)
    management.extensions[state.EXTENSION] = kadra
    errors.register(management)
    management.add_url_rule("/metrics", "metrics", metrics.metrics_response)
    management.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    management.add_url_rule("/readyz", "readyz", health.readiness)

    @management.after_request
    def no_store(response):
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return management


def _state(app: Flask) -> state.State:
    """The app's RPC client, feed, copies and keys; the revocation set and the copies subscribed to the feed."""
    current = settings.current()
    rpc = app.config.get("RPC_CLIENT") or PerThreadRpcClient(lambda: RpcClient(timeout=current.rpc_timeout))
    feed = Feed(current.amqp_uri, enabled=not app.config.get("KADRA_FEED_DISABLED"))
    kadra = state.State(
        rpc=rpc, feed=feed, spool=spool.Spool(spool.folder_for(current.gateway_spool_dir, current.amqp_uri), rpc),
        revocations=Revocations(), memberships=Memberships(feed), profiles=Profiles(feed), companies=Companies(feed),
        public_keys=public_keys_of(current, app.config.get("JWT_PUBLIC_KEY")), issuer=current.public_url,
        service_tokens=ServiceTokens(current.service_token_secret, current.service_token_secret_file),
        verified=VerifiedTokens())

    def resync_revocations():
        kadra.revocations.replace(rpc.call("identity", "revocations", timeout=3))

    feed.subscribe(feed_contract.REVOCATION, kadra.revocations.apply, resync=resync_revocations)
    feed.subscribe(feed_contract.MEMBERSHIP, kadra.memberships.on_change, resync=kadra.memberships.clear)
    feed.subscribe(feed_contract.ACCOUNT, kadra.profiles.on_change, resync=kadra.profiles.clear)
    feed.subscribe(feed_contract.MEMBERSHIP, kadra.companies.on_change, resync=kadra.companies.clear)
    feed.every(spool.SCAN_EVERY, kadra.spool.replay)
    return kadra


def _trust_proxies(app: Flask) -> None:
    """Behind KADRA_TRUSTED_PROXIES proxies (an ingress, a load balancer), the client's address is the one
    the nearest of them appended to X-Forwarded-For, not the proxy's own.

    The per-client-address login limit keys on it: with the proxy's address, one limit would count
    everybody's failures and soon refuse everybody. With 0 (the default: clients connect directly)
    the header is ignored, since anyone can send it.
    """
    proxies = settings.current().trusted_proxies
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0)  # the address only


def _api_modules():
    """Every module of gateway.api with a `blp` (one blueprint per resource), in name order."""
    import gateway.api

    for info in sorted(pkgutil.iter_modules(gateway.api.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"gateway.api.{info.name}")
        if hasattr(module, "blp"):
            yield module


def _install_request_context(app: Flask) -> None:
    """A request id per request (the caller's X-Request-ID if sane), echoed back and logged."""

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        set_request_id(g.request_id)

    @app.before_request
    def check_json_body():
        """Every request body is JSON: refuse other types and malformed JSON before any route runs."""
        if request.method in ("POST", "PUT", "PATCH") and request.content_length:
            if not request.is_json:
                raise errors.Problem("unsupported_media_type")
            if request.get_json(silent=True) is None:
                raise errors.Problem("invalid_json", errors=[field_error("body", "Invalid JSON body.")])

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
