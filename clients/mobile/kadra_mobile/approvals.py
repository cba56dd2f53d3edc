"""`kadra-mobile approvals` and `approve`: the trusted phone approves (or denies) a web login.

    approvals                                   the web logins waiting for this phone (address, browser, time)
    approve [APPROVAL_ID] --number NN (--pin [P] | --biometric)
    approve [APPROVAL_ID] --deny

The web page shows a two-digit number; the person types it here (number matching: a login they did not start
shows a number they cannot know). Approving signs `kadra-approval.v1.<approval id>.<number>.<challenge>` —
a fresh challenge of this device — with the device key and sends the PIN, or signs it with the biometric key.
Without APPROVAL_ID the one waiting login is meant (more than one: name it). The device's access token is
refreshed once if it has expired.
"""
from kadra_mobile import state as st
from kadra_mobile.app import NOT_ACTIVE, REFUSED, USAGE, App, Failure
from kadra_mobile.cli import _ASK

PREFIX = "kadra-approval.v1"


def message(approval_id: str, number: str, challenge: str) -> str:
    """What the phone signs to approve one request (devices/approvals.py checks the same string)."""
    return f"{PREFIX}.{approval_id}.{number}.{challenge}"


def refresh(app: App) -> None:
    """A new token pair for the device's session from its refresh token; REFUSED when the session is over."""
    device = app.device()
    if not device.get("refresh_token"):
        raise Failure(REFUSED, app.t("session_ended"))
    try:
        tokens = app.call("POST", "/auth/refresh", {"refresh_token": device["refresh_token"]}).json()
    except Failure:
        raise Failure(REFUSED, app.t("session_ended")) from None
    app.state.update(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])
    app.save()


def device_call(app: App, method: str, path: str, body: dict | None = None):
    """A call with the device's token, refreshed once when the token (not the proof in the body) was refused."""
    try:
        return app.call(method, path, body, token=app.token())
    except Failure as failure:
        if failure.status != 401 or app.token_still_works():
            if failure.code == NOT_ACTIVE:
                raise Failure(NOT_ACTIVE, app.t("device_gone")) from None
            raise
    refresh(app)
    return app.call(method, path, body, token=app.token())


def waiting(app: App) -> list[dict]:
    return device_call(app, "GET", f"/devices/{app.device()['device_id']}/approvals").json()["approvals"]


def describe(app: App, approvals: list[dict]) -> str:
    if not approvals:
        return app.t("approvals_none")
    lines = [app.t("approvals_head")]
    for n, item in enumerate(approvals, 1):
        what = app.t("approval_phone_off" if item.get("purpose") == "phone_off" else "approval_login")
        lines.append(app.t("approval_line", n=n, approval_id=item["approval_id"], what=what,
                           requested_at=item["requested_at"], client_ip=item.get("client_ip") or app.t("approval_unknown"),
                           user_agent=item.get("user_agent") or app.t("approval_unknown"),
                           expires_in=item["expires_in"]))
    return "\n".join(lines)


def cmd_approvals(app: App) -> dict:
    approvals = waiting(app)
    return {"message": describe(app, approvals), "approvals": approvals}


def cmd_approve(app: App) -> dict:
    args = app.args
    device = app.device()
    approval_id = args.approval_id
    if not approval_id:
        approvals = waiting(app)
        if not approvals:
            raise Failure(NOT_ACTIVE, app.t("approvals_none"))
        if len(approvals) > 1:
            raise Failure(USAGE, app.t("approval_pick") + "\n" + describe(app, approvals))
        approval_id = approvals[0]["approval_id"]
    base = f"/devices/{device['device_id']}/approvals/{approval_id}"
    if args.deny:
        device_call(app, "POST", f"{base}/deny")
        return {"message": app.t("approval_denied"), "approval_id": approval_id, "decision": "denied"}
    number = args.number
    if not number and app.interactive():
        number = input(app.t("approval_ask_number")).strip()
    if not number:
        raise Failure(USAGE, app.t("approval_need_number"))
    challenge = app.call("POST", f"/devices/{device['device_id']}/challenge").json()["challenge"]
    signed = message(approval_id, number, challenge)
    if args.biometric:
        if not device.get("biometric_key"):
            raise Failure(USAGE, app.t("no_biometric_key"))
        body = {"number": number, "challenge": challenge, "biometric_signature": st.sign(device["biometric_key"], signed)}
    else:
        pin = app.secret(args.pin if args.pin != _ASK else None, "KADRA_MOBILE_PIN", "prompt_pin", "what_pin")
        body = {"number": number, "challenge": challenge, "signature": st.sign(device["device_key"], signed), "pin": pin}
    decision = device_call(app, "POST", f"{base}/approve", body).json()["decision"]
    return {"message": app.t("approval_approved"), "approval_id": approval_id, "decision": decision}


def add_commands(commands) -> None:
    """The two commands, added to kadra-mobile's parser."""
    commands.add_parser("approvals", help="web logins waiting for this phone's approval").set_defaults(
        run=cmd_approvals)
    approve = commands.add_parser("approve", help="approve (or deny) a web login")
    approve.add_argument("approval_id", nargs="?", help="which one (default: the one waiting)")
    approve.add_argument("--number", help="the two-digit number shown on the login screen")
    way = approve.add_mutually_exclusive_group()
    way.add_argument("--pin", nargs="?", const=_ASK, help="approve with the PIN (value, $KADRA_MOBILE_PIN, or asked)")
    way.add_argument("--biometric", action="store_true", help="approve with the biometric key")
    way.add_argument("--deny", action="store_true", help="deny the login (it wasn't you)")
    approve.set_defaults(run=cmd_approve, pin=None)
