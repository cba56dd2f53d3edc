"""/app/config.json: what the web pages show of this installation, from the settings read at start. No network."""
import pytest

from gateway.app import create_app

APP_STORE = "https://apps.apple.com/pl/app/kadra/id6450000000"
PLAY_STORE = "https://play.google.com/store/apps/details?id=pl.kadra.mobile"


@pytest.fixture
def client_with(monkeypatch):
    def make(**env):
        for name in ("KADRA_APP_STORE_URL", "KADRA_PLAY_STORE_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return create_app({"TESTING": True, "KADRA_FEED_DISABLED": True}).test_client()
    return make


def test_store_links_given_are_served_to_the_pages(client_with):
    response = client_with(KADRA_APP_STORE_URL=APP_STORE, KADRA_PLAY_STORE_URL=PLAY_STORE).get("/app/config.json")
    assert response.status_code == 200 and response.content_type == "application/json"
    assert response.json == {"app_store_url": APP_STORE, "play_store_url": PLAY_STORE}
    assert response.headers["Cache-Control"] == "no-cache"


def test_store_links_not_set_are_null_so_the_page_shows_none(client_with):
    assert client_with().get("/app/config.json").json == {"app_store_url": None, "play_store_url": None}
    assert client_with(KADRA_PLAY_STORE_URL=PLAY_STORE).get("/app/config.json").json == \
        {"app_store_url": None, "play_store_url": PLAY_STORE}


def test_the_config_is_not_an_api_operation(client_with):
    spec = client_with().get("/api/v1/openapi.json").json
    assert not any("config" in path for path in spec["paths"])


@pytest.mark.parametrize("name, value", [("KADRA_APP_STORE_URL", "http://apps.apple.com/app/id1"),
                                         ("KADRA_PLAY_STORE_URL", "play.google.com/store/apps")])
def test_a_store_link_that_is_not_https_stops_the_gateway_with_one_line(name, value):
    import os
    import subprocess
    import sys

    gateway = os.path.join(os.path.dirname(sys.executable), "kadra-gateway")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADRA_")}
    done = subprocess.run([gateway], env=dict(env, **{name: value}), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"gateway: {name} must be an https:// URL (empty: no link), got '{value}'"
