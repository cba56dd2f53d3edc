"""The phone's secrets on disk: one JSON file readable only by its owner (mode 0600).

It holds the device key and the biometric key (private halves, raw, base64),
the device id and the last token pair. On a real phone the keys live in the
secure hardware store and the biometric one is unlocked only by a fingerprint;
here the file stands in for both.
"""
import base64
import json
import os
import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

STATE_ENV = "KADRA_MOBILE_STATE"
DEFAULT_STATE = os.path.join(os.path.expanduser("~"), ".kadra-mobile", "state.json")


class UnsafeState(Exception):
    """The state file can be read by others than its owner."""


def state_path(given: str | None) -> str:
    return given or os.environ.get(STATE_ENV) or DEFAULT_STATE


def load(path: str) -> dict:
    """The saved state, or {} when there is none; refuses a file others may read."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UnsafeState(path)
    with open(path) as f:
        return json.load(f)


def save(path: str, state: dict) -> None:
    """Write atomically, created 0600 from the start (never readable by others, not even briefly)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def new_key() -> str:
    """A new Ed25519 private key, raw 32 bytes in base64."""
    raw = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                     serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def public_key(private_b64: str) -> str:
    """The public half, as the server wants it: base64 of the 32 raw bytes."""
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_b64))
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(private_b64: str, challenge: str) -> str:
    """base64 of the Ed25519 signature over the challenge's UTF-8 bytes, exactly as the server sent it."""
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_b64))
    return base64.b64encode(key.sign(challenge.encode("utf-8"))).decode()
