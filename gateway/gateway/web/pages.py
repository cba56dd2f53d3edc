"""Serve the web pages under `/app/` and the API docs page at `/api/docs`, every asset from this machine.

- `/app/<page>` answers the one HTML shell (`static/index.html`); `static/js/main.js` reads the path and
  draws the page. Links in e-mails open `/app/<page>#token=...`: the token stays in the fragment, which the
  browser never sends here.
- `/app/static/...` the pages' ES modules and CSS.
- `/app/config.json` what the pages show of this installation: the app stores' links
  (`KADRA_APP_STORE_URL`, `KADRA_PLAY_STORE_URL`; null when not set, and the page shows no link).
- `/api/docs` Swagger UI (from the `swagger-ui-bundle` package, served locally) over `/api/v1/openapi.json`.

The blueprint is a flask-smorest Blueprint only so that gateway.app registers it like the API modules;
none of its routes enters the OpenAPI document.
"""
import os
import re

from flask import Blueprint as FlaskBlueprint
from flask import abort, current_app, jsonify, redirect, send_from_directory
from flask_smorest import Blueprint

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

# The pages main.js draws; any other name answers the same shell with 404 (the page says "not found").
PAGES = frozenset({
    "", "login", "signup", "forgot-password", "reset-password", "confirm-account", "accept-invitation",
    "confirm-email", "revert-email", "accept-ownership", "settings", "account", "mobile", "audit",
})
_PAGE_NAME = re.compile(r"^[a-z-]{0,40}$")

# Swagger UI's files that the docs page loads (nothing else of the package is served).
SWAGGER_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                           "favicon-16x16.png", "favicon-32x32.png"})

_SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Pages: scripts, styles, images and API calls only from this origin, no inline script.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
# Swagger UI sets inline style attributes and draws icons as data: SVGs.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


class PagesBlueprint(Blueprint):
    """A flask-smorest Blueprint whose routes stay out of the OpenAPI document."""

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, *,
                     parameters=None, tags=None, **options):
        FlaskBlueprint.add_url_rule(self, rule, endpoint, view_func, provide_automatic_options, **options)

    def register_views_in_doc(self, *args, **kwargs):
        """Nothing to document: these are pages, not API operations."""


blp = PagesBlueprint("web", __name__, description="Web pages and the API docs page (not API operations)")


def swagger_dir() -> str:
    import swagger_ui_bundle

    return swagger_ui_bundle.swagger_ui_path


def _page(filename: str, status: int = 200, csp: str = PAGE_CSP):
    response = send_from_directory(STATIC, filename, mimetype="text/html", max_age=0)
    response.status_code = status
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(_SECURITY_HEADERS)
    return response


def _asset(folder: str, filename: str):
    response = send_from_directory(folder, filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers.update(_SECURITY_HEADERS)
    return response


@blp.route("/app")
def app_root():
    return redirect("/app/", code=302)


@blp.route("/app/")
@blp.route("/app/<page>")
def page(page: str = ""):
    """Every page is the same shell; the script draws the page the path names."""
    if not _PAGE_NAME.match(page):
        abort(404)
    return _page("index.html", 200 if page in PAGES else 404)


@blp.route("/app/config.json")
def web_config():
    """The installation's settings a page shows (the store links), as read when the gateway started."""
    response = jsonify(current_app.config["WEB_CONFIG"])
    response.headers["Cache-Control"] = "no-cache"
    response.headers.update(_SECURITY_HEADERS)
    return response


@blp.route("/app/static/<path:filename>")
def asset(filename: str):
    return _asset(STATIC, filename)


@blp.route("/api/docs")
@blp.route("/api/docs/")
def docs():
    """Swagger UI over the OpenAPI document, with no external asset."""
    return _page("docs.html", csp=DOCS_CSP)


@blp.route("/api/docs/swagger/<filename>")
def swagger_asset(filename: str):
    if filename not in SWAGGER_FILES:
        abort(404)
    return _asset(swagger_dir(), filename)
