"""The baseline web app: a bare Flask 'hello' route, served under the gateway's gunicorn settings."""
from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return {"hello": "world"}

    return app
