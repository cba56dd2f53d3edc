"""Rotating the access-token signing key on a running system, as deploy/README.md tells an operator to.

A Kadra of its own (the key ring in a folder, KADRA_JWT_KEYS_DIR), its keys changed with `kadra-keys`
while everything runs: nobody is logged out by a rotation, and a retired key stops verifying at once.
"""
import os
import subprocess
import sys
import time

import jwt
import pytest
import requests

from tests.support.identity import bearer, login, sign_up
from tests.support.infra import wait_until
from tests.support.systems import own_system

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KADRA_KEYS = os.path.join(os.path.dirname(sys.executable), "kadra-keys")
# The ring is looked at every 2 s (kadra_defaults.contracts.access_tokens.RELOAD_EVERY); a step is in use
# on every process well within this.
PICKED_UP_WITHIN = 8.0


@pytest.fixture(scope="module")
def rotating(system_env, tmp_path_factory):
    """A running Kadra whose keys live in a ring folder (made by `kadra-keys` on start, as compose does);
    no single key files."""
    ring = str(tmp_path_factory.mktemp("ring") / "jwt")
    with own_system(system_env, "keys", tmp_path_factory, KADRA_JWT_KEYS_DIR=ring,
                    KADRA_JWT_PRIVATE_KEY_FILE="/nonexistent/jwt.pem",
                    KADRA_JWT_PUBLIC_KEY_FILE="/nonexistent/jwt.pub.pem") as running:
        yield running


def keys(system, *args) -> str:
    """`kadra-keys ARGS` against the running system's ring, as the operator runs it."""
    proc = subprocess.run([KADRA_KEYS, *args], env=system.env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def api_of(system):
    api = requests.Session()
    api.url = lambda path: system.base_url + path
    return api


def kid(tokens) -> str:
    return jwt.get_unverified_header(tokens["access_token"])["kid"]


def published(system) -> set:
    """The kids in /.well-known/jwks.json, asked on 6 fresh connections (any gateway worker may answer):
    their union when they disagree, so "all workers agree" is `published == published_by_all`."""
    answers = [frozenset(k["kid"] for k in requests.get(system.base_url + "/.well-known/jwks.json",
                                                        timeout=5).json()["keys"]) for _ in range(6)]
    return set(answers[0]) if len(set(answers)) == 1 else {"(workers disagree)"}


def status_everywhere(system, tokens) -> set:
    """The statuses of GET /me with this access token on 6 fresh connections (every worker has its own keys)."""
    return {requests.get(system.base_url + "/api/v1/me", headers=bearer(tokens), timeout=5).status_code
            for _ in range(6)}


def test_keys_rotate_on_a_running_system_without_logging_anyone_out(rotating):
    api = api_of(rotating)
    person = sign_up(api)
    before = login(api, person["email"])
    (old,) = published(rotating)
    assert kid(before) == old and status_everywhere(rotating, before) == {200}

    # 1. a new key is added: published by every gateway, identity still signs with the old one
    new = keys(rotating, "add")
    started = time.monotonic()
    wait_until(lambda: published(rotating) == {old, new}, PICKED_UP_WITHIN, what="the new key published")
    print(f"published after {time.monotonic() - started:.1f}s")
    assert kid(login(api, person["email"])) == old

    # 2. signing switches: fresh tokens name the new key; tokens from before keep working
    keys(rotating, "sign", new)
    started = time.monotonic()
    wait_until(lambda: kid(login(api, person["email"])) == new, PICKED_UP_WITHIN, what="identity signing with the new key")
    print(f"signing with the new key after {time.monotonic() - started:.1f}s")
    during = login(api, person["email"])
    assert status_everywhere(rotating, before) == {200}, "a token from before the switch was refused"
    assert status_everywhere(rotating, during) == {200}
    response = api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": before["refresh_token"]})
    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert kid(refreshed) == new and status_everywhere(rotating, refreshed) == {200}

    # 3. the old key is retired: what it signed is refused everywhere; nobody signed in with the new one notices
    keys(rotating, "retire", old)
    wait_until(lambda: published(rotating) == {new}, PICKED_UP_WITHIN, what="the old key withdrawn")
    assert status_everywhere(rotating, before) == {401}, "a token signed with the retired key still works"
    assert status_everywhere(rotating, during) == {200} and status_everywhere(rotating, refreshed) == {200}
    response = api.post(api.url("/api/v1/auth/refresh"), json={"refresh_token": refreshed["refresh_token"]})
    assert response.status_code == 200 and kid(response.json()) == new


def test_a_switch_to_an_unpublished_key_is_not_followed(rotating):
    """The operator's likeliest slip: signing with a key no gateway publishes would log everybody out."""
    api = api_of(rotating)
    person = sign_up(api)
    (current,) = published(rotating)
    ring = rotating.env["KADRA_JWT_KEYS_DIR"]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kadra_defaults.contracts.ed25519_keys import private_pem

    with open(os.path.join(ring, "unpublished.pem"), "wb") as f:
        f.write(private_pem(Ed25519PrivateKey.generate()))
    with open(os.path.join(ring, "signing-kid"), "w") as f:  # by hand, past `kadra-keys sign`'s check
        f.write("unpublished\n")
    try:
        time.sleep(PICKED_UP_WITHIN / 2)
        tokens = login(api, person["email"])
        assert kid(tokens) == current and status_everywhere(rotating, tokens) == {200}
    finally:
        keys(rotating, "sign", current)
        os.unlink(os.path.join(ring, "unpublished.pem"))
