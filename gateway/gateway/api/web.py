"""The web pages (`/app/...`) and the API docs page (`/api/docs`): see gateway.web.

Registered like every API module (it has a `blp`), but none of its routes enters the OpenAPI document.
"""
from gateway.web.pages import blp  # noqa: F401
