"""`make run`: the whole of Kadra on this machine until Ctrl-C.

Settings given in the environment win over the defaults picked here: with
KADRA_SMTP_HOST set, e-mail goes to that server and no local sink starts.
With KADRA_FROM_IMAGE=1 (`make run-image`) kadra-keys, the four services and the gateway run as containers
of the image `make image` built (scripts/image_system.py), against the same RabbitMQ, database and mail sink.
"""
import functools
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from system import ROOT, SERVICES, System, free_port  # noqa: E402


def management_port(env: dict) -> int:
    """KADRA_MANAGEMENT_PORT when set, else 9000 (the default) when it is free, else any free port."""
    if env.get("KADRA_MANAGEMENT_PORT"):
        return int(env["KADRA_MANAGEMENT_PORT"])
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 9000)) != 0:
            return 9000
    return free_port()


def main() -> int:
    from kadra_defaults import settings

    settings.check_or_exit("make run")  # one line naming a bad setting, before anything starts
    state = os.environ.get("KADRA_STATE_DIR") or os.path.join(ROOT, ".kadra")
    env = dict(os.environ)
    use_sink = not env.get("KADRA_SMTP_HOST")
    env.setdefault("KADRA_GATEWAY_PORT", "8000")
    port = int(env["KADRA_GATEWAY_PORT"])
    env.setdefault("KADRA_PUBLIC_URL", f"http://127.0.0.1:{port}")
    # The key ring (rotate with `kadra-keys add|sign|retire`); a pair made by an earlier `make run` in the
    # single files is taken in on first start under its thumbprint kid, so its tokens keep working.
    env.setdefault("KADRA_JWT_KEYS_DIR", os.path.join(state, "keys", "jwt"))
    env.setdefault("KADRA_JWT_PRIVATE_KEY_FILE", os.path.join(state, "keys", "jwt-ed25519.pem"))
    env.setdefault("KADRA_JWT_PUBLIC_KEY_FILE", os.path.join(state, "keys", "jwt-ed25519.pub.pem"))
    sink = None
    if use_sink:
        env["KADRA_SMTP_HOST"], env["KADRA_SMTP_PORT"] = "127.0.0.1", env.get("KADRA_SMTP_PORT") or "1025"
        sink = {"smtp": f"127.0.0.1:{env['KADRA_SMTP_PORT']}", "http": os.environ.get("KADRA_MAILSINK_HTTP", "127.0.0.1:8025"),
                "dir": os.path.join(state, "mail")}
    base = int(env.get("KADRA_HEALTH_PORT_BASE", "8101"))
    health_ports = {name: base + i for i, name in enumerate(SERVICES)}
    replicas = os.environ.get("KADRA_REPLICAS", "1")
    if not replicas.isascii() or not replicas.isdigit() or not 1 <= int(replicas) <= 4:
        print(f"[run] KADRA_REPLICAS must be a whole number from 1 to 4, not {replicas!r}", file=sys.stderr)
        return 2
    kind = System
    if env.get("KADRA_FROM_IMAGE") == "1":
        from image_system import IMAGE, ImageSystem

        kind = functools.partial(ImageSystem, tag="run")
        print(f"[run] from the image {IMAGE} (containers kadra-run-*)", flush=True)
    system = kind(env, os.path.join(state, "log"), gateway_port=port,
                  health_ports=health_ports, mailsink=sink, management_port=management_port(env),
                  replicas=int(replicas))

    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    print(f"[run] starting the four services and the gateway ({replicas} of each) ...", flush=True)
    try:
        system.start()  # kadra-keys first: the signing keys are made on first start
    except RuntimeError as error:
        print(f"[run] {error}", file=sys.stderr)
        return 1
    try:
        system.wait_ready(timeout=120, progress=lambda m: print(f"[run] {m}", flush=True))
    except RuntimeError as error:
        print(f"[run] {error}", file=sys.stderr)
        system.stop()
        return 1
    print(f"""
Kadra is running.
  API            {system.base_url}/api/v1
  API docs       {system.base_url}/api/docs   (OpenAPI: {system.base_url}/api/v1/openapi.json)
  Web app        {system.base_url}/app/
  Readiness      {system.base_url}/readyz   Metrics: {system.management_url}/metrics (management port)
  Token keys     {system.base_url}/.well-known/jwks.json   (rotate: .venv/bin/kadra-keys add|sign|retire,
                 with KADRA_JWT_KEYS_DIR={env['KADRA_JWT_KEYS_DIR']})
  E-mails        {('http://' + sink['http'] + '/  (files in ' + sink['dir'] + ')') if sink else 'sent to ' + env['KADRA_SMTP_HOST'] + ':' + env.get('KADRA_SMTP_PORT', '')}
  Logs           {system.log_dir}/<name>.log{chr(10) + '  Replicas       ' + str(system.replicas) + ' of every service; the gateways at ' + ', '.join(system.base_urls) if system.replicas > 1 else ''}
Press Ctrl-C to stop.
""", flush=True)
    code = 0
    while not stopping:
        dead = system.dead()
        if dead:
            print(f"[run] stopped unexpectedly: {', '.join(dead)}\n{system.tails(dead)}", file=sys.stderr)
            code = 1
            break
        time.sleep(0.5)
    print("[run] stopping ...", flush=True)
    system.stop()
    print("[run] stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
