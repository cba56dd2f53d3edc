"""`kadra-gateway`: the gateway under gunicorn with Kadra's settings."""
import sys


def main() -> None:
    """Run gunicorn with gateway.gunicorn_conf; extra arguments go to gunicorn."""
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", "-c", "python:gateway.gunicorn_conf", *sys.argv[1:], "gateway.app:create_app()"]
    run()


if __name__ == "__main__":
    main()
