"""`kadra-mobile`: activate this "phone", set a PIN, enable biometrics, log in, see and remove the device.

    kadra-mobile [--gateway URL] [--state FILE] [--lang pl|en] [--json] COMMAND

    activate --email E [--password P] --name N --platform android|ios [--replace] [--code C]
             [--pin P] [--biometrics | --no-biometrics]
                                                (the guide's dialogue: with --pin, or typed at a terminal,
                                                 it goes on to "Ustaw PIN", asks about biometrics and ends
                                                 with "To wszystko! Gratulujemy!")
    set-pin [--pin P] [--current-pin P] [--biometrics | --no-biometrics]
                                                (first PIN: then the biometrics question; a change: the
                                                 current PIN + a signed challenge)
    enable-biometrics [--pin P]                 (the PIN and a signed challenge prove it is this phone)
    disable-biometrics
    login --pin [P] | login --biometric
    approvals                                   (web logins waiting for this phone's approval)
    approve [ID] --number NN (--pin [P] | --biometric) | approve [ID] --deny
                                                (kadra_mobile/approvals.py: the number from the login
                                                 screen, a challenge signed over the login and the number)
    status
    remove

Secrets may come from options, from KADRA_MOBILE_PASSWORD / KADRA_MOBILE_PIN /
KADRA_MOBILE_CURRENT_PIN, or be typed when asked. Exit codes: 0 done;
1 unexpected answer; 2 bad usage; 3 another device is already trusted
(not replaced); 4 refused (wrong e-mail/password/PIN, bad signature, session
ended); 5 device blocked; 6 this phone is not (or no longer) the trusted
device; 7 Kadra unreachable; 8 invalid input; 9 too many attempts.
"""
import argparse
import getpass
import json
import os
import sys

import requests

from kadra_mobile import state as st
from kadra_mobile.app import ALREADY_PAIRED, DEFAULT_GATEWAY, GATEWAY_ENV, NOT_ACTIVE, OK, REFUSED, USAGE, App, Failure


# commands

def cmd_activate(app: App) -> dict:
    args = app.args
    password = app.secret(args.password, "KADRA_MOBILE_PASSWORD", "prompt_password", "what_password")
    device_key = st.new_key()  # a new key for every activation; the private half never leaves this file
    body = {"email": args.email, "password": password, "device_name": args.name, "platform": args.platform,
            "public_key": st.public_key(device_key), "replace": bool(args.replace)}
    if args.code:  # two-step login (TOTP) on: activation needs the current code too
        body["code"] = args.code
    response = activation_call(app, body, expect=(201, 409))
    if response.status_code == 409:
        current = (response.json() or {}).get("current_device") or {}
        notice = app.t("already_paired", name=current.get("name", "?"), platform=current.get("platform", "?"),
                       activated=(current.get("activated_at") or "?")[:16].replace("T", " "))
        if args.replace or not sys.stdin.isatty() or args.json:
            raise Failure(ALREADY_PAIRED, notice)
        print(notice, file=sys.stderr)
        answer = input(app.t("confirm_replace")).strip().lower()
        if answer not in ("y", "yes", "t", "tak"):
            raise Failure(ALREADY_PAIRED, notice)
        body["replace"] = True
        response = activation_call(app, body, expect=(201,))
    answer = response.json()
    app.state = {"gateway": app.gateway, "email": args.email, "device_id": answer["device_id"],
                 "device_name": args.name, "platform": args.platform, "device_key": device_key,
                 "biometric_key": None, "pin_set": False, "access_token": answer["access_token"],
                 "refresh_token": answer["refresh_token"]}
    app.save()
    lines = [app.t("activated", name=args.name, platform=args.platform)]
    if answer.get("replaced_device_ids"):
        lines.append(app.t("replaced"))
    result = {"device_id": answer["device_id"], "replaced": bool(answer.get("replaced_device_ids"))}
    pin = args.pin or (app.interactive() and getpass.getpass(app.t("prompt_new_pin")))
    if not pin:  # run non-interactively without --pin: the PIN is the next command
        lines.append(app.t("next_pin"))
        return dict(result, message="\n".join(lines))
    if not app.args.json:
        print("\n".join(lines), flush=True)  # the activation is done, whatever the PIN's answer
    done = first_pin(app, pin)
    if app.args.json:
        done["message"] = "\n".join(lines + [done["message"]])
    return dict(result, **done)


def activation_call(app: App, body: dict, expect) -> requests.Response:
    """POST /devices/activate; a wrong e-mail or password is told with the guide's two hints."""
    try:
        return app.call("POST", "/devices/activate", body, expect=expect)
    except Failure as failure:
        if failure.status == 401:
            raise Failure(REFUSED, app.t("wrong_credentials", url=app.gateway)) from None
        raise


def first_pin(app: App, pin: str) -> dict:
    """The guide's steps 4 and 5: "Ustaw PIN", the biometrics question, "To wszystko! Gratulujemy!"."""
    device = app.device()
    app.with_device_token("PUT", f"/devices/{device['device_id']}/pin", {"pin": pin})
    app.state["pin_set"] = True
    app.save()
    lines = [app.t("pin_set")]
    use = app.args.biometrics
    if use is None and app.interactive():
        print(lines.pop(), flush=True)  # said before the question, as the app's screens follow each other
        use = input(app.t("biometrics_question")).strip().lower() in ("y", "yes", "t", "tak")
    if use:
        lines.append(cmd_enable_biometrics(app, pin)["message"])
    else:
        lines.append(app.t("biometrics_later"))
    lines.append(app.t("all_done"))
    return {"pin_set": True, "biometrics": bool(use), "message": "\n".join(lines)}


def cmd_set_pin(app: App) -> dict:
    """The first PIN (then the guide's biometrics question), or a change: the current PIN and a signed challenge."""
    args = app.args
    device = app.device()
    changing = bool(args.current_pin or os.environ.get("KADRA_MOBILE_CURRENT_PIN") or device.get("pin_set"))
    pin = app.secret(args.pin, "KADRA_MOBILE_PIN", "prompt_pin" if changing else "prompt_new_pin", "what_pin")
    if not changing:
        return first_pin(app, pin)
    body = {"pin": pin,
            "current_pin": app.secret(args.current_pin, "KADRA_MOBILE_CURRENT_PIN", "prompt_current_pin", "what_pin")}
    body["challenge"], body["signature"] = app.signed_challenge(device["device_key"])
    app.with_device_token("PUT", f"/devices/{device['device_id']}/pin", body, proof=True)
    app.state["pin_set"] = True
    app.save()
    return {"message": app.t("pin_changed")}


def cmd_enable_biometrics(app: App, pin: str | None = None) -> dict:
    """Register a new biometric key: Kadra wants the PIN and a challenge signed by the device key with it."""
    device = app.device()
    pin = pin or app.secret(app.args.pin, "KADRA_MOBILE_PIN", "prompt_pin", "what_pin")
    biometric_key = st.new_key()
    challenge, signature = app.signed_challenge(device["device_key"])
    app.with_device_token("PUT", f"/devices/{device['device_id']}/biometrics",
                          {"public_key": st.public_key(biometric_key), "pin": pin, "challenge": challenge,
                           "signature": signature}, proof=True)
    app.state["biometric_key"] = biometric_key
    app.save()
    return {"message": app.t("biometrics_on")}


def cmd_disable_biometrics(app: App) -> dict:
    device = app.device()
    app.with_device_token("DELETE", f"/devices/{device['device_id']}/biometrics")
    app.state["biometric_key"] = None
    app.save()
    return {"message": app.t("biometrics_off")}


def cmd_login(app: App) -> dict:
    args = app.args
    device = app.device()
    if args.biometric:
        if not device.get("biometric_key"):
            raise Failure(USAGE, app.t("no_biometric_key"))
        challenge, signature = app.signed_challenge(device["biometric_key"])
        body = {"challenge": challenge, "biometric_signature": signature}
        method = app.t("method_biometric")
    else:
        pin = app.secret(args.pin if args.pin != _ASK else None, "KADRA_MOBILE_PIN", "prompt_pin", "what_pin")
        challenge, signature = app.signed_challenge(device["device_key"])
        body = {"challenge": challenge, "signature": signature, "pin": pin}
        method = app.t("method_pin")
    try:
        tokens = app.call("POST", f"/devices/{device['device_id']}/login", body).json()
    except Failure as failure:
        if failure.code == NOT_ACTIVE:
            raise Failure(NOT_ACTIVE, app.t("device_gone")) from None
        raise
    app.state.update(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])
    app.save()
    return {"message": app.t("logged_in", method=method), "expires_in": tokens.get("expires_in")}


def cmd_status(app: App) -> dict:
    device = app.device()
    if not device.get("access_token"):
        return {"message": app.t("status_local", device_id=device["device_id"]), "device_id": device["device_id"]}
    listed = app.with_device_token("GET", "/me/devices").json()
    mine = next((d for d in listed if d["device_id"] == device["device_id"]), None)
    if mine is None:
        raise Failure(NOT_ACTIVE, app.t("device_gone"))
    yes, no = app.t("yes"), app.t("no")
    message = app.t("status_device", name=mine["name"], platform=mine["platform"], device_id=mine["device_id"],
                    activated_at=mine["activated_at"], last_used_at=mine.get("last_used_at") or app.t("never"),
                    pin=yes if mine.get("pin_set") else no, biometrics=yes if mine["biometrics"] else no,
                    blocked=yes if mine["blocked"] else no)
    return {"message": message, **mine}


def cmd_remove(app: App) -> dict:
    device = app.device()
    app.with_device_token("DELETE", f"/me/devices/{device['device_id']}")
    app.state = {"gateway": app.gateway, "email": device.get("email")}
    app.save()
    return {"message": app.t("removed")}


_ASK = "\0ask"


def biometrics_choice(command: argparse.ArgumentParser) -> None:
    command.add_argument("--biometrics", action=argparse.BooleanOptionalAction, default=None,
                         help="after the first PIN: use biometric login, or not (default: asked at a terminal, "
                              "else not)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="kadra-mobile", description=__doc__.split("\n\n")[0],
                                   epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawTextHelpFormatter)
    root.add_argument("--gateway", help=f"Kadra's address (default ${GATEWAY_ENV} or {DEFAULT_GATEWAY})")
    root.add_argument("--state", help=f"the key file (default ${st.STATE_ENV} or {st.DEFAULT_STATE})")
    root.add_argument("--lang", choices=("pl", "en"), help="language of messages (default: the system's)")
    root.add_argument("--json", action="store_true", help="print the result as JSON")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    activate = commands.add_parser("activate", help="make this phone your trusted device")
    activate.add_argument("--email", required=True)
    activate.add_argument("--password", help="better: $KADRA_MOBILE_PASSWORD, or type it when asked")
    activate.add_argument("--name", default="kadra-mobile", help="the device's name")
    activate.add_argument("--platform", choices=("android", "ios"), default="android")
    activate.add_argument("--replace", action="store_true", help="confirm replacing your current device")
    activate.add_argument("--code", help="with two-step login on: the current code from your authenticator app")
    activate.add_argument("--pin", help="go on to set this PIN (6-8 digits), as the app's dialogue does")
    biometrics_choice(activate)
    activate.set_defaults(run=cmd_activate)

    set_pin = commands.add_parser("set-pin", help="set (or change) the PIN")
    set_pin.add_argument("--pin", help="6-8 digits (or $KADRA_MOBILE_PIN)")
    set_pin.add_argument("--current-pin", help="to change it: the current PIN (or $KADRA_MOBILE_CURRENT_PIN)")
    biometrics_choice(set_pin)
    set_pin.set_defaults(run=cmd_set_pin)

    biometrics = commands.add_parser("enable-biometrics", help="register a biometric key (asks for the PIN)")
    biometrics.add_argument("--pin", help="the device's PIN (or $KADRA_MOBILE_PIN, or typed when asked)")
    biometrics.set_defaults(run=cmd_enable_biometrics)
    commands.add_parser("disable-biometrics", help="turn biometric login off").set_defaults(run=cmd_disable_biometrics)

    login = commands.add_parser("login", help="log in with the PIN or biometrics")
    way = login.add_mutually_exclusive_group(required=True)
    way.add_argument("--pin", nargs="?", const=_ASK, help="log in with the PIN (value, $KADRA_MOBILE_PIN, or asked)")
    way.add_argument("--biometric", action="store_true", help="log in with the biometric key")
    login.set_defaults(run=cmd_login)

    from kadra_mobile import approvals  # its own module; it imports this one
    approvals.add_commands(commands)

    commands.add_parser("status", help="show this device as Kadra sees it").set_defaults(run=cmd_status)
    commands.add_parser("remove", help="remove this device from your account").set_defaults(run=cmd_remove)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        app = App(args)
        result = args.run(app)
    except Failure as failure:
        if args.json:
            print(json.dumps({"ok": False, "exit_code": failure.code, "message": failure.message}))
        print(failure.message, file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps({"ok": True, **result}, ensure_ascii=False))
    else:
        print(result["message"])
    return OK


if __name__ == "__main__":
    sys.exit(main())
