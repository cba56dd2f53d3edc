"""One table from errors to HTTP, and one body shape: RFC 9457 problem+json.

Every error the gateway answers has the same shape:
`{type, title, title_pl, status, detail, detail_pl, code, request_id, errors?}`
where `errors` lists the fields at fault: `[{field, message, message_pl}]`.
Titles and details come in English and Polish, so every frontend can show
the person's language without a second look-up.
"""
import logging

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from kadra_defaults.errors import field_error, field_errors, snake_case
from kadra_defaults.tracing import current_request_id
from gateway import rpc

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# code -> (status, English title, Polish title)
PROBLEMS = {
    "bad_request": (400, "The request is malformed.", "Żądanie jest niepoprawne."),
    "invalid_json": (400, "The body is not valid JSON.", "Treść żądania nie jest poprawnym JSON-em."),
    "validation_failed": (422, "Some fields are invalid.", "Niektóre pola są niepoprawne."),
    "unauthorized": (401, "Authentication is required.", "Wymagane jest zalogowanie."),
    "forbidden": (403, "You may not do this.", "Nie masz uprawnień do tej operacji."),
    "second_factor_setup_required": (403, "This company requires two-step login.",
                                     "Ta firma wymaga logowania dwuetapowego."),
    "not_found": (404, "Not found.", "Nie znaleziono."),
    "method_not_allowed": (405, "Method not allowed.", "Niedozwolona metoda."),
    "conflict": (409, "The request conflicts with the current state.", "Żądanie jest sprzeczne z obecnym stanem."),
    "payload_too_large": (413, "The request body is too large.", "Treść żądania jest zbyt duża."),
    "unsupported_media_type": (415, "Send JSON (application/json).", "Wyślij dane jako JSON (application/json)."),
    "login_denied": (403, "The login was denied in the mobile app.", "Logowanie zostało odrzucone w aplikacji mobilnej."),
    "approval_expired": (410, "The time to approve on the phone has run out.",
                         "Czas na potwierdzenie w aplikacji mobilnej minął."),
    "device_blocked": (423, "The device is blocked.", "Urządzenie jest zablokowane."),
    "too_many_requests": (429, "Too many attempts. Try again later.", "Zbyt wiele prób. Spróbuj ponownie później."),
    "internal_error": (500, "Something went wrong on our side.", "Wystąpił błąd po naszej stronie."),
    "service_unavailable": (503, "The service is temporarily unavailable.", "Usługa jest chwilowo niedostępna."),
    "service_timeout": (504, "The service did not answer in time.", "Usługa nie odpowiedziała na czas."),
}

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "validation_failed", 429: "too_many_requests"}

# A service's error code -> the problem the gateway answers with. The one table of service errors,
# read in one place (from_rpc_error). A service sends its code as details["code"]
# (kadra_defaults.errors.DomainError); a service not yet on DomainError is known by its exception's
# class name in snake case. Any "status" a service still sends is ignored: the status is the problem's.
SERVICE_ERRORS = {
    # identity
    "invalid_input": "validation_failed",
    "invalid_credentials": "unauthorized",
    "invalid_second_factor": "unauthorized",
    "throttled": "too_many_requests",  # devices too
    "invalid_token": "bad_request",
    "invalid_session": "unauthorized",
    "account_not_found": "unauthorized",
    "unavailable": "service_unavailable",
    "email_taken": "conflict",
    "login_denied": "login_denied",
    "approval_expired": "approval_expired",
    "approval_not_found": "not_found",
    "already_decided": "conflict",
    # users
    "not_found": "not_found",
    "forbidden": "forbidden",
    "conflict": "conflict",
    "token_invalid": "bad_request",
    "account_required": "validation_failed",
    # devices
    "device_not_found": "not_found",
    "device_already_paired": "conflict",
    "device_blocked": "device_blocked",
    "login_refused": "unauthorized",
    "password_refused": "forbidden",
    "pin_not_set": "conflict",
    # any service: an abuse limit met (kadra_defaults.limits)
    "rate_limited": "too_many_requests",
}

# Failures of a dependency behind a service (its database, the broker): 503, not 500.
TRANSIENT_REMOTE_PREFIXES = ("pymongo.errors.", "kombu.exceptions.", "amqp.exceptions.", "pika.exceptions.",
                             "nameko.exceptions.RpcConnectionError", "socket.", "builtins.ConnectionError",
                             "builtins.ConnectionRefusedError", "builtins.TimeoutError",
                             "nameko.exceptions.UnknownService")
# A service's own call to another service failed there for a transient reason: nameko re-raises it as
# `nameko.exceptions.RemoteError` whose value starts with the other side's exception type.
TRANSIENT_NESTED_TYPES = ("AutoReconnect", "NetworkTimeout", "ServerSelectionTimeoutError", "ConnectionFailure",
                          "NotPrimaryError", "WaitQueueTimeoutError", "RpcConnectionError", "UnknownService",
                          "ConnectionError", "ConnectionRefusedError", "TimeoutError")


def _details(error: "rpc.RemoteError") -> dict:
    """What a service said about its error: the dict in its first argument (empty if none)."""
    return error.exc_args[0] if error.exc_args and isinstance(error.exc_args[0], dict) else {}


def error_code(error: "rpc.RemoteError") -> str:
    """The service's code for a remote error: details["code"], else its class name in snake case."""
    code = _details(error).get("code")
    return code if isinstance(code, str) and code else snake_case(error.exc_type or "")


def _transient(error: "rpc.RemoteError") -> bool:
    if error.exc_path.startswith(TRANSIENT_REMOTE_PREFIXES):
        return True
    return (error.exc_path == "nameko.exceptions.RemoteError"
            and (error.value or "").split(" ", 1)[0] in TRANSIENT_NESTED_TYPES)


class Problem(Exception):
    """Raise from a route to answer with a problem+json body."""

    def __init__(self, code: str, detail: str | None = None, detail_pl: str | None = None,
                 errors: list | None = None, status: int | None = None, headers: dict | None = None,
                 extra: dict | None = None):
        super().__init__(code)
        self.code = code
        self.status = status or PROBLEMS[code][0]
        self.detail = detail
        self.detail_pl = detail_pl
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(problem: Problem) -> Response:
    """Serialise a Problem as RFC 9457 problem+json."""
    status, title_en, title_pl = PROBLEMS.get(problem.code, (problem.status, "Error", "Błąd"))
    body = {
        "type": f"urn:kadra:problem:{problem.code}",
        "title": title_en,
        "title_pl": title_pl,
        "status": problem.status,
        "code": problem.code,
        "detail": problem.detail or title_en,
        "detail_pl": problem.detail_pl or problem.detail or title_pl,
    }
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=problem.status, mimetype=PROBLEM_JSON)
    for key, value in problem.headers.items():
        response.headers[key] = value
    return response


def from_http_exception(error: HTTPException) -> Problem:
    """Werkzeug/flask-smorest errors (404, 405, webargs' 422, bad JSON) as a Problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 400 and messages and "Invalid JSON body." in str(messages):
        return Problem("invalid_json", errors=[field_error("body", "Invalid JSON body.")])
    errors = None
    if messages:
        # flask-smorest nests by location ("json", "query"); the field is what people need.
        errors = []
        for location, fields in messages.items():
            errors.extend(field_errors(fields) if isinstance(fields, dict) else field_errors(fields, "body"))
    code = _HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    return Problem(code, status=status, errors=errors)


def from_rpc_error(error: rpc.RpcError) -> Problem:
    """A failed RPC as a Problem: down or slow services are 503/504, known remote errors are mapped."""
    if isinstance(error, (rpc.BrokerUnavailable, rpc.ServiceUnavailable, rpc.CallTimeout)):
        # An operator reading a 503/504 in the access log finds its cause on the line before it.
        log.warning("rpc failed", extra={"cause": error.__class__.__name__, "reason": str(error)})
    if isinstance(error, rpc.BrokerUnavailable):
        return Problem("service_unavailable", detail="The message broker is unavailable.",
                       detail_pl="Broker wiadomości jest niedostępny.", headers={"Retry-After": "5"})
    if isinstance(error, rpc.ServiceUnavailable):
        return Problem("service_unavailable", detail=f"The {error.service} service is unavailable.",
                       detail_pl=f"Usługa {error.service} jest niedostępna.", headers={"Retry-After": "5"})
    if isinstance(error, rpc.CallTimeout):
        return Problem("service_timeout", detail=f"The {error.service} service did not answer in time.",
                       detail_pl=f"Usługa {error.service} nie odpowiedziała na czas.", headers={"Retry-After": "5"})
    if isinstance(error, rpc.RemoteError) and _transient(error):
        # The service is up but its database or the broker behind it is not: try again shortly.
        log.warning("transient remote error", extra={"exc_path": error.exc_path})
        return Problem("service_unavailable", detail="A service's database is temporarily unavailable.",
                       detail_pl="Baza danych usługi jest chwilowo niedostępna.", headers={"Retry-After": "5"})
    if isinstance(error, rpc.RemoteError) and error_code(error) in SERVICE_ERRORS:
        details = _details(error)
        return Problem(SERVICE_ERRORS[error_code(error)], detail=details.get("detail"),
                       detail_pl=details.get("detail_pl"), errors=details.get("errors"),
                       headers={k: str(v) for k, v in details.get("headers", {}).items()},
                       extra=details.get("extra"))
    log.error("unmapped remote error", extra={"exc_path": getattr(error, "exc_path", None)})
    return Problem("internal_error")


def register(app) -> None:
    """Install the handlers: every error leaves as problem+json.

    Called after flask-smorest's Api is set up, so these replace its JSON error body.
    """

    @app.errorhandler(Problem)
    def handle_problem(problem):
        return problem_response(problem)

    @app.errorhandler(rpc.RpcError)
    def handle_rpc_error(error):
        return problem_response(from_rpc_error(error))

    @app.errorhandler(HTTPException)
    def handle_http(error):
        return problem_response(from_http_exception(error))

    @app.errorhandler(Exception)
    def handle_unexpected(error):
        if isinstance(error, HTTPException):
            return problem_response(from_http_exception(error))
        log.exception("unhandled error", extra={"path": request.path})
        return problem_response(Problem("internal_error"))
