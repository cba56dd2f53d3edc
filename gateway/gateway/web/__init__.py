"""Kadra's web frontend: plain HTML, ES modules and CSS served by the gateway (no build step, no CDN).

The pages talk to the same REST API as every other frontend (`/api/v1`, JSON, bearer tokens kept in
sessionStorage); the server keeps no web session. `pages.py` serves them and the docs page.
"""
