"""Log in, refresh, log out, and passwords (forgot, reset, change)."""
import logging

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kadra_defaults.errors import field_error
from kadra_defaults.text import EmailAddress

from gateway import rpc, state
from gateway.auth import SECURITY_SCHEME, authenticated, current_principal
from gateway.caller import rpc_client
from gateway.errors import Problem

log = logging.getLogger(__name__)

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Log in, tokens and passwords")


@blp.record_once
def _register_security_scheme(setup_state):
    """The bearer scheme that @authenticated operations name in the OpenAPI document."""
    try:
        api = setup_state.app.extensions["flask-smorest"]["blp_name_to_api"][blp.name]
        if SECURITY_SCHEME not in api.spec.components.security_schemes:
            api.spec.components.security_scheme(SECURITY_SCHEME, {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token from /auth/login or /auth/refresh (15 minutes)."})
    except (KeyError, AttributeError):  # documentation only: never stop the app for it
        log.warning("could not register the bearer security scheme")


def client_ip() -> str | None:
    return request.remote_addr


def user_agent() -> str:
    """The browser's User-Agent, shown to the phone that approves the login (bounded)."""
    return (request.headers.get("User-Agent") or "")[:300]


PASSWORD = {"example": "correct horse battery staple"}


class AuthLoginSchema(Schema):
    email = EmailAddress(required=True, metadata={"example": "anna@example.pl"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=4096), metadata=PASSWORD)


class AuthTokenPairSchema(Schema):
    access_token = fields.String(required=True, metadata={"example": "eyJhbGciOiJFZERTQSIs..."})
    refresh_token = fields.String(required=True, metadata={"example": "Zt3m0cYkq1...43 characters"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"example": 900})


class AuthLoginAnswerSchema(Schema):
    """A token pair; or, for an account with a second factor, a pending login (no tokens)."""

    access_token = fields.String(metadata={"example": "eyJhbGciOiJFZERTQSIs..."})
    refresh_token = fields.String(metadata={"example": "Zt3m0cYkq1...43 characters"})
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"example": 900})
    second_factor_required = fields.Boolean(metadata={"example": True})
    pending_token = fields.String(metadata={"example": "pW3r9Lx...43 characters, single use, 5 minutes"})
    methods = fields.List(fields.String(), metadata={"example": ["phone", "totp", "recovery_code"]})
    number = fields.String(metadata={"example": "42", "description": "With `phone` among the methods: the number "
                                                                     "to show, which the person types on the phone"})
    approval_expires_in = fields.Integer(metadata={"example": 120,
                                                   "description": "Seconds the phone may approve (with `phone`)"})


class AuthSecondFactorSchema(Schema):
    pending_token = fields.String(required=True, validate=validate.Length(min=1, max=512),
                                  metadata={"example": "pW3r9Lx...43 characters"})
    method = fields.String(validate=validate.OneOf(("phone",)), metadata={
        "example": "phone", "description": "phone: ask whether the trusted phone approved (no code)"})
    code = fields.String(validate=validate.Length(min=1, max=20), metadata={"example": "492039"})
    recovery_code = fields.String(validate=validate.Length(min=1, max=64), metadata={"example": "k7m2q-x9p4r"})


class AuthSecondFactorAnswerSchema(AuthTokenPairSchema):
    """The token pair; or, while the phone has not decided (`method: "phone"`), 202 with `status: waiting`."""

    access_token = fields.String(metadata={"example": "eyJhbGciOiJFZERTQSIs..."})
    refresh_token = fields.String(metadata={"example": "Zt3m0cYkq1...43 characters"})
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"example": 900})
    status = fields.String(metadata={"example": "waiting"})
    number = fields.String(metadata={"example": "42"})


class AuthRefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=512),
                                  metadata={"example": "Zt3m0cYkq1...43 characters"})


class AuthLogoutSchema(Schema):
    refresh_token = fields.String(validate=validate.Length(max=512), metadata={"example": "Zt3m0cYkq1..."})


class AuthForgotSchema(Schema):
    email = EmailAddress(required=True, metadata={"example": "anna@example.pl"})


class AuthForgotAcceptedSchema(Schema):
    detail = fields.String(metadata={"example": "If this address has an account, a link is on its way."})
    detail_pl = fields.String(metadata={"example": "Jeśli pod tym adresem jest konto, wysłaliśmy link."})


class AuthResetSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512),
                          metadata={"example": "q3N0c1Lr...43 characters from the e-mail link"})
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=4096), metadata=PASSWORD)


class AuthChangePasswordSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=4096), metadata=PASSWORD)
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                                 metadata={"example": "a new and long passphrase"})


def one_code(body: dict) -> None:
    """422 naming `code` unless the body has a code or a recovery code (a login's second step, turning it off)."""
    if not body.get("code") and not body.get("recovery_code"):
        raise Problem("validation_failed", errors=[field_error(
            "code", "Enter the current code from the app or a recovery code.",
            "Wpisz aktualny kod z aplikacji lub kod zapasowy.")])


def identity():
    return rpc_client().identity


@blp.route("/login", methods=["POST"])
@blp.arguments(AuthLoginSchema, example={"email": "anna@example.pl", "password": "correct horse battery staple"})
@blp.response(200, AuthLoginAnswerSchema, example={"access_token": "eyJ...", "refresh_token": "Zt3...",
                                                   "token_type": "Bearer", "expires_in": 900})
@blp.alt_response(401, description="Wrong e-mail or password (one answer for every wrong pair)")
@blp.alt_response(429, description="Too many failures: wait `Retry-After` seconds")
def login(body):
    """Log in with e-mail and password.

    Answers a 15-minute access token and a rotating 30-day refresh token:
    `{"access_token": "eyJ...", "refresh_token": "Zt3...", "token_type": "Bearer", "expires_in": 900}`.
    For an account with a second factor (TOTP) the right password answers a pending login instead, no tokens:
    `{"second_factor_required": true, "pending_token": "pW3...", "methods": ["totp", "recovery_code"],
    "expires_in": 300}`; send it with a code to `/auth/login/second-factor`. With approval on the trusted phone
    on (and a trusted phone), `methods` starts with `"phone"` and the answer carries `"number": "42"` (show it:
    the person types it on the phone) and `"approval_expires_in": 120`; then poll `/auth/login/second-factor`
    with `{"pending_token": …, "method": "phone"}`. A wrong password answers the same 401 with or without a
    second factor.
    After 5 failures in a row for one address (wrong passwords and wrong codes alike, and for an account with a
    second factor any login not completed) the next attempt waits (1 min, doubling up to 15 min).
    """
    return identity().login(email=body["email"], password=body["password"], client_ip=client_ip(),
                            user_agent=user_agent())


@blp.route("/login/second-factor", methods=["POST"])
@blp.arguments(AuthSecondFactorSchema, example={"pending_token": "pW3r9Lx...", "code": "492039"})
@blp.response(200, AuthSecondFactorAnswerSchema)
@blp.alt_response(202, schema=AuthSecondFactorAnswerSchema,
                  description="`method: phone`: the phone has not decided yet (`status: waiting`, `expires_in`)")
@blp.alt_response(400, description="The pending login is unknown, expired (5 minutes) or used (`pending_token`)")
@blp.alt_response(401, description="The code is wrong, used or expired (`code`); it counts toward the lockout")
@blp.alt_response(403, description="`method: phone`: the phone denied the login (`login_denied`)")
@blp.alt_response(410, description="`method: phone`: the 2 minutes to approve ran out (`approval_expired`)")
@blp.alt_response(422, description="Neither `code` nor `recovery_code` given (nor `method: phone`)")
@blp.alt_response(429, description="Too many failures: wait `Retry-After` seconds")
def login_second_factor(body):
    """The second step of a login: the pending login and the current code from the app (or a recovery code).

    Answers the token pair, as `/auth/login` does without a second factor. A code is accepted once (a code
    replayed within its 30-second window is refused), a recovery code once ever.
    Example: `{"pending_token": "pW3...", "code": "492039"}` → `{"access_token": "eyJ...", ...}`

    Approval on the phone: `{"pending_token": "pW3...", "method": "phone"}`, asked every second or two, answers
    202 `{"status": "waiting", "number": "42", "expires_in": 97}` until the phone decides, then the token pair
    once (a second ask: 400), or 403 `login_denied`, or 410 `approval_expired` after 2 minutes.
    """
    if body.get("method") == "phone":
        answer = identity().complete_login(pending_token=body["pending_token"], via="phone",
                                           client_ip=client_ip())
        return (answer, 202) if answer.get("status") == "waiting" else answer
    one_code(body)
    return identity().complete_login(pending_token=body["pending_token"], code=body.get("code"),
                                     recovery_code=body.get("recovery_code"), client_ip=client_ip())


@blp.route("/refresh", methods=["POST"])
@blp.arguments(AuthRefreshSchema, example={"refresh_token": "Zt3m0cYkq1..."})
@blp.response(200, AuthTokenPairSchema)
@blp.alt_response(401, description="Unknown, spent or expired refresh token; a spent one ends its session")
def refresh(body):
    """A new token pair for a refresh token (which is spent by this).

    Presenting a spent refresh token again ends that whole session family.
    Example answer: `{"access_token": "eyJ...", "refresh_token": "new...", "token_type": "Bearer", "expires_in": 900}`
    """
    return identity().refresh(refresh_token=body["refresh_token"])


@blp.route("/logout", methods=["POST"])
@authenticated
@blp.arguments(AuthLogoutSchema, example={"refresh_token": "Zt3m0cYkq1..."})
@blp.response(204)
def logout(body):
    """End this session (and the refresh token's, if it is another one of yours).

    Every gateway worker refuses the session's access tokens within a second.
    """
    principal = current_principal()
    identity().logout(account_id=principal.account_id, session_id=principal.session_id,
                      refresh_token=body.get("refresh_token"))


FORGOT_ANSWER = {"detail": "If this address has an account, a link to set a new password is on its way.",
                 "detail_pl": "Jeśli pod tym adresem jest konto, wysłaliśmy na niego link do ustawienia nowego hasła."}


@blp.route("/password/forgot", methods=["POST"])
@blp.arguments(AuthForgotSchema, example={"email": "anna@example.pl"})
@blp.response(202, AuthForgotAcceptedSchema)
@blp.alt_response(429, description="Too many reset requests from this client address (Retry-After)")
def forgot_password(body):
    """Ask for a password-reset link (valid 30 minutes, single use; a newer one voids older ones).

    Always 202 with the same body, whether or not the address has an account. At most 3 links
    are sent to one address in an hour (a completed reset starts the count again); further
    requests send nothing and leave the earlier links valid. One client address may ask
    KADRA_LIMIT_RESETS_PER_CLIENT_HOUR times an hour (429 alike for every address). When the message
    broker is down the request is kept on disk and made as soon as it is back.
    """
    try:
        identity().request_password_reset(email=body["email"], client_ip=client_ip())
    except (rpc.BrokerUnavailable, rpc.ServiceUnavailable, rpc.CallTimeout) as exc:
        state.current().call_later("identity", "request_password_reset", email=body["email"], client_ip=client_ip())
        log.warning("forgot-password deferred", extra={"error": exc.__class__.__name__})
    return FORGOT_ANSWER


@blp.route("/password/reset", methods=["POST"])
@blp.arguments(AuthResetSchema, example={"token": "q3N0c1Lr...", "new_password": "a new and long passphrase"})
@blp.response(204)
@blp.alt_response(400, description="The token is invalid, used or expired")
@blp.alt_response(422, description="The new password breaks the policy (the message says why)")
@blp.alt_response(503, description="The devices service did not answer: nothing changed, the link still works; retry")
def reset_password(body):
    """Set a new password with the token from the e-mail link; every session of the account ends and the
    trusted device is removed (the password may have been in other hands). A 503 changes nothing: retry."""
    identity().reset_password(token=body["token"], new_password=body["new_password"])


@blp.route("/password/change", methods=["POST"])
@authenticated
@blp.arguments(AuthChangePasswordSchema, example={"current_password": "correct horse battery staple",
                                              "new_password": "a new and long passphrase"})
@blp.response(204)
@blp.alt_response(422, description="Wrong current password, or the new one breaks the policy")
@blp.alt_response(429, description="Too many wrong passwords for this account: wait (Retry-After)")
def change_password(body):
    """Change the password (needs the current one); every other session of the account ends.

    A new password has at least 12 characters and is not guessable: common passwords (Polish ones too),
    keyboard patterns, repeats, sequences, dates and the person's own address, name or company are refused,
    with the reason in `errors` (English and Polish). The trusted phone stays.
    """
    principal = current_principal()
    identity().change_password(account_id=principal.account_id, session_id=principal.session_id,
                               current_password=body["current_password"], new_password=body["new_password"],
                               client_ip=client_ip())
