"""`kadra-keys kubernetes`: the dev overlay's first-start step — the key ring as two Secrets, made once.

Run by the `kadra-keys` Job of deploy/k8s/overlays/dev with its own ServiceAccount (a Role that may
create Secrets and read and patch these two). Production never runs it: its Secrets come from the
operator (deploy/k8s/overlays/prod/secrets.example.yaml).

    kadra-jwt-keys     <kid>.pem and signing-kid   (mounted by identity only)
    kadra-jwt-public   <kid>.pub.pem               (mounted by identity and the gateway)

Idempotent, and safe to re-run after a failure part-way: the private Secret is made first (a key only
when it is missing; a 409 means another run made it, which is then read), then every public key it
implies is added to the public Secret where missing. A public key that contradicts its private key is
an error, never overwritten. Talks to the API server with the Pod's ServiceAccount token (no client
library: two GETs, a POST and a PATCH).
"""
from __future__ import annotations

import base64
import json
import os
import ssl
import time
import urllib.error
import urllib.request
import secrets as _secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kadra_defaults.contracts.access_tokens import KID, PRIVATE_SUFFIX, PUBLIC_SUFFIX, SIGNING_FILE
from kadra_defaults.contracts.ed25519_keys import load_private_pem, load_public_pem, private_pem, public_pem, raw

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


class Api:
    """The Kubernetes API of one namespace, as far as Secrets go."""

    def __init__(self, base: str, namespace: str, token: str = "", context: ssl.SSLContext | None = None):
        self.base, self.namespace, self.token, self.context = base.rstrip("/"), namespace, token, context

    @classmethod
    def in_cluster(cls) -> "Api":
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        with open(os.path.join(SERVICE_ACCOUNT, "token")) as f:
            token = f.read().strip()
        with open(os.path.join(SERVICE_ACCOUNT, "namespace")) as f:
            namespace = f.read().strip()
        context = ssl.create_default_context(cafile=os.path.join(SERVICE_ACCOUNT, "ca.crt"))
        return cls(f"https://{host}:{port}", namespace, token, context)

    def _call(self, method: str, path: str, body: dict | None = None,
              content_type: str = "application/json") -> tuple[int, dict]:
        request = urllib.request.Request(f"{self.base}/api/v1/namespaces/{self.namespace}/secrets{path}",
                                         method=method, data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=15, context=self.context) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {}

    def get(self, name: str) -> dict | None:
        """The Secret's data (decoded), or None when there is no such Secret."""
        status, body = self._call("GET", f"/{name}")
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"reading Secret {name}: HTTP {status}")
        return {k: base64.b64decode(v) for k, v in (body.get("data") or {}).items()}

    def create(self, name: str, data: dict[str, bytes], labels: dict) -> bool:
        """True when made, False when it already existed (409)."""
        status, _ = self._call("POST", "", {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "labels": labels},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}})
        if status == 409:
            return False
        if status not in (200, 201):
            raise RuntimeError(f"creating Secret {name}: HTTP {status}")
        return True

    def add(self, name: str, data: dict[str, bytes]) -> None:
        """Add entries to an existing Secret (a JSON merge patch: the other entries stay)."""
        status, _ = self._call("PATCH", f"/{name}", {"data": {k: base64.b64encode(v).decode() for k, v in data.items()}},
                               content_type="application/merge-patch+json")
        if status != 200:
            raise RuntimeError(f"updating Secret {name}: HTTP {status}")


def ensure(api: Api, private_name: str, public_name: str, labels: dict | None = None) -> list[str]:
    """Both Secrets hold a consistent ring with a signing key; what was done."""
    labels = labels or {}
    did = []
    private = api.get(private_name)
    if private is None:
        kid = time.strftime("%Y%m%d", time.gmtime()) + "-" + _secrets.token_hex(4)
        fresh = {kid + PRIVATE_SUFFIX: private_pem(Ed25519PrivateKey.generate()), SIGNING_FILE: (kid + "\n").encode()}
        if api.create(private_name, fresh, labels):
            did.append(f"created {private_name} with {kid}")
        private = api.get(private_name)
        if private is None:
            raise RuntimeError(f"Secret {private_name} vanished")
    wanted = {}
    for name, data in sorted(private.items()):
        kid = name[:-len(PRIVATE_SUFFIX)]
        if name.endswith(PRIVATE_SUFFIX) and not name.endswith(PUBLIC_SUFFIX) and KID.match(kid):
            wanted[kid + PUBLIC_SUFFIX] = public_pem(load_private_pem(data).public_key())
    if not wanted:
        raise RuntimeError(f"Secret {private_name} holds no <kid>{PRIVATE_SUFFIX}")
    public = api.get(public_name)
    if public is None:
        if api.create(public_name, wanted, labels):
            did.append(f"created {public_name} with {', '.join(sorted(wanted))}")
            return did
        public = api.get(public_name) or {}
    missing = {}
    for name, pem in wanted.items():
        if name not in public:
            missing[name] = pem
        elif raw(load_public_pem(public[name])) != raw(load_public_pem(pem)):
            raise RuntimeError(f"{name} in Secret {public_name} is not the public key of its private key")
    if missing:
        api.add(public_name, missing)
        did.append(f"published {', '.join(sorted(missing))} in {public_name}")
    return did or ["present"]
