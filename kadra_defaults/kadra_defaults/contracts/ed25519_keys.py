"""One Ed25519 key in the forms the access tokens' key ring (contracts/access_tokens.py) reads and publishes:
PEM files (SubjectPublicKeyInfo, PKCS#8 without a password), the raw 32 bytes, the JWK of RFC 8037 and the
RFC 7638 thumbprint. Loading refuses a key of any other type."""
from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["ALGORITHM", "jwk", "load_private_pem", "load_public_pem", "private_pem", "public_pem", "raw", "thumbprint"]

ALGORITHM = "EdDSA"  # the JWT/JWK name of Ed25519 signatures (RFC 8037)


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def load_private_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url): the kid of a key that has no name of its own."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw(key))}, separators=(",", ":"),
                         sort_keys=True)
    return _b64url(hashlib.sha256(members.encode()).digest())


def jwk(kid: str, key: Ed25519PublicKey) -> dict:
    """The public key as a JWK (RFC 8037)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw(key)), "kid": kid, "use": "sig", "alg": ALGORITHM}
