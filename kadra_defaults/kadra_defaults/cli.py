"""`kadra-service NAME`: run one of Kadra's nameko services with its config.yml."""
import os
import sys
import warnings

SERVICES = ("identity", "users", "devices", "notify")


def config_path(service: str) -> str:
    """services/<name>/config.yml under KADRA_ROOT (default: the working directory)."""
    root = os.environ.get("KADRA_ROOT", os.getcwd())
    return os.path.join(root, "services", service, "config.yml")


def main(argv: list[str] | None = None) -> None:
    """Parse the service name and hand over to `nameko run`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in SERVICES:
        sys.stderr.write(f"usage: kadra-service {{{'|'.join(SERVICES)}}}\n")
        raise SystemExit(2)
    service = args[0]
    from kadra_defaults import settings

    settings.check_or_exit(f"kadra-service {service}")  # a bad setting: one line, exit 2, nothing started
    path = config_path(service)
    if not os.path.exists(path):
        sys.stderr.write(f"kadra-service: no config at {path} (set KADRA_ROOT to the repository or /app)\n")
        raise SystemExit(2)
    # eventlet announces its deprecation on import; nameko 2.x still needs it.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from nameko.cli.main import main as nameko_main

    service_class = f"{service.capitalize()}Service"
    sys.argv = ["nameko", "run", "--config", path, f"{service}.service:{service_class}"]
    nameko_main()


if __name__ == "__main__":
    main()
