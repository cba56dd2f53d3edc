"""identity.key_secrets: the dev overlay's key Secrets, against a small fake of the Kubernetes API."""
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kadra_defaults.contracts.ed25519_keys import load_private_pem, load_public_pem, public_pem, raw
from identity.key_secrets import Api, ensure

PREFIX = "/api/v1/namespaces/kadra-dev/secrets"


class FakeApi(BaseHTTPRequestHandler):
    secrets: dict = {}
    calls: list = []
    fail_create: set = set()

    def log_message(self, *args):
        pass

    def _answer(self, status, body=None):
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self):
        self.calls.append(("GET", self.path, self.headers.get("Authorization")))
        name = self.path[len(PREFIX) + 1:]
        if name in self.secrets:
            return self._answer(200, {"data": self.secrets[name]})
        self._answer(404)

    def do_POST(self):
        body = self._body()
        name = body["metadata"]["name"]
        self.calls.append(("POST", name, body["metadata"]["labels"]))
        if name in self.secrets or name in self.fail_create:
            if name in self.fail_create:  # another run made it meanwhile
                self.fail_create.discard(name)
                self.secrets[name] = {"7-other.pem": base64.b64encode(_pem()).decode()}
            return self._answer(409)
        self.secrets[name] = body["data"]
        self._answer(201, body)

    def do_PATCH(self):
        assert self.headers["Content-Type"] == "application/merge-patch+json"
        name = self.path[len(PREFIX) + 1:]
        self.calls.append(("PATCH", name, None))
        self.secrets[name].update(self._body()["data"])
        self._answer(200)


def _pem():
    from kadra_defaults.contracts.ed25519_keys import private_pem
    return private_pem(Ed25519PrivateKey.generate())


@pytest.fixture
def api():
    FakeApi.secrets, FakeApi.calls, FakeApi.fail_create = {}, [], set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Api(f"http://127.0.0.1:{server.server_address[1]}", "kadra-dev", token="sa-token")
    server.shutdown()


def _data(name):
    return {k: base64.b64decode(v) for k, v in FakeApi.secrets[name].items()}


def test_first_run_makes_a_signing_key_and_publishes_it_later_runs_change_nothing(api):
    did = ensure(api, "kadra-jwt-keys", "kadra-jwt-public", {"app.kubernetes.io/part-of": "kadra"})
    assert did[0].startswith("created kadra-jwt-keys with ") and did[1].startswith("created kadra-jwt-public")
    private, public = _data("kadra-jwt-keys"), _data("kadra-jwt-public")
    kid = private["signing-kid"].decode().strip()
    assert set(private) == {f"{kid}.pem", "signing-kid"} and set(public) == {f"{kid}.pub.pem"}
    assert raw(load_public_pem(public[f"{kid}.pub.pem"])) == raw(load_private_pem(private[f"{kid}.pem"]).public_key())
    assert all(call[2] == "Bearer sa-token" for call in FakeApi.calls if call[0] == "GET")
    before = dict(FakeApi.secrets)
    assert ensure(api, "kadra-jwt-keys", "kadra-jwt-public") == ["present"]
    assert FakeApi.secrets == before


def test_a_run_cut_short_after_the_private_secret_is_finished_by_the_next(api):
    ensure(api, "kadra-jwt-keys", "kadra-jwt-public")
    del FakeApi.secrets["kadra-jwt-public"]
    assert ensure(api, "kadra-jwt-keys", "kadra-jwt-public")[0].startswith("created kadra-jwt-public")
    # a key added to the private Secret by hand is published by the next run, the rest untouched
    FakeApi.secrets["kadra-jwt-keys"]["20990101-new.pem"] = base64.b64encode(_pem()).decode()
    assert ensure(api, "kadra-jwt-keys", "kadra-jwt-public") == ["published 20990101-new.pub.pem in kadra-jwt-public"]
    assert len(_data("kadra-jwt-public")) == 2


def test_a_race_lost_reads_the_winner_s_secret(api):
    FakeApi.fail_create.add("kadra-jwt-keys")
    ensure(api, "kadra-jwt-keys", "kadra-jwt-public")
    assert set(_data("kadra-jwt-public")) == {"7-other.pub.pem"}


def test_a_public_key_contradicting_its_private_key_is_an_error_not_overwritten(api):
    ensure(api, "kadra-jwt-keys", "kadra-jwt-public")
    (name,) = FakeApi.secrets["kadra-jwt-public"]
    wrong = base64.b64encode(public_pem(Ed25519PrivateKey.generate().public_key())).decode()
    FakeApi.secrets["kadra-jwt-public"][name] = wrong
    with pytest.raises(RuntimeError, match="is not the public key"):
        ensure(api, "kadra-jwt-keys", "kadra-jwt-public")
    assert FakeApi.secrets["kadra-jwt-public"][name] == wrong
