"""The Ed25519 key pair that signs access tokens: files, created when missing.

`kadra-keys` (what `make run` calls) creates them at KADRA_JWT_PRIVATE_KEY_FILE
and KADRA_JWT_PUBLIC_KEY_FILE unless they exist. The private key stays with
identity (mode 0600); the gateway reads only the public one.
"""
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kadra_defaults import settings


def _write(path: str, data: bytes, mode: int) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def public_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(path: str) -> Ed25519PrivateKey:
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public(path: str) -> Ed25519PublicKey:
    with open(path, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def ensure_keys(private_path: str, public_path: str) -> str:
    """Create the pair if the private key is missing, the public key if only it is missing.

    Returns what it did: "created", "public derived" or "present". A public key
    that does not match the private one is an error (tokens would not verify).
    """
    if not os.path.exists(private_path):
        key = Ed25519PrivateKey.generate()
        _write(private_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()), 0o600)
        _write(public_path, public_pem(key), 0o644)
        return "created"
    key = load_private(private_path)
    if not os.path.exists(public_path):
        _write(public_path, public_pem(key), 0o644)
        return "public derived"
    with open(public_path, "rb") as f:
        if f.read().strip() != public_pem(key).strip():
            raise ValueError(f"{public_path} does not match {private_path}")
    return "present"


def main(argv: list[str] | None = None) -> int:
    """`kadra-keys`: make sure the JWT key files exist (paths from the environment)."""
    private = settings.current().jwt_private_key_file
    public = settings.current().jwt_public_key_file
    try:
        what = ensure_keys(private, public)
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"kadra-keys: {exc}\n")
        return 1
    sys.stdout.write(f"kadra-keys: {what}: {private} (private), {public} (public)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
