"""Ed25519 device keys: strict decoding of the public key and signature checks.

Contract (docs/product.md): a public key is base64 (standard alphabet,
padded) of the 32 raw bytes; a signature is base64 of the Ed25519 signature
over the UTF-8 bytes of the challenge string exactly as the server sent it.
"""
import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class BadKey(ValueError):
    """The text is not a usable key or signature; args are (message_en, message_pl)."""


def _strict_b64(text, what_en: str, what_pl: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise BadKey(f"The {what_en} must be a base64 string.", f"{what_pl} musi być tekstem w base64.")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(f"The {what_en} is not valid base64 (standard alphabet, padded).",
                     f"{what_pl} nie jest poprawnym base64 (standardowy alfabet, z dopełnieniem).") from None
    if base64.b64encode(raw).decode() != text:
        raise BadKey(f"The {what_en} is not canonical base64 (standard alphabet, padded).",
                     f"{what_pl} nie jest kanonicznym base64 (standardowy alfabet, z dopełnieniem).")
    return raw


def decode_public_key(text) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as base64, or BadKey."""
    raw = _strict_b64(text, "public key", "Klucz publiczny")
    if len(raw) != PUBLIC_KEY_BYTES:
        raise BadKey(f"An Ed25519 public key is {PUBLIC_KEY_BYTES} bytes; this one is {len(raw)}.",
                     f"Klucz publiczny Ed25519 ma {PUBLIC_KEY_BYTES} bajty; ten ma {len(raw)}.")
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise BadKey("This is not a valid Ed25519 public key.", "To nie jest poprawny klucz publiczny Ed25519.") from None
    return raw


def signature_matches(public_key_b64: str, message: str, signature_b64) -> bool:
    """True when `signature_b64` is the Ed25519 signature of `message` (UTF-8) by that key."""
    try:
        signature = _strict_b64(signature_b64, "signature", "Podpis")
    except BadKey:
        return False
    if len(signature) != SIGNATURE_BYTES:
        return False
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        key.verify(signature, message.encode("utf-8"))
    except InvalidSignature:
        return False
    return True
