"""One-time links (invitations, ownership transfers): a random token goes out by e-mail, only its hash is kept."""
import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits


def hash_of(token: str) -> str:
    """What the database keeps of a link's token (SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_link() -> tuple[str, str]:
    """(token, its hash): the token for the e-mail, the hash for the database."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_of(token)
