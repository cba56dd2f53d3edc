"""`kadra-keys`: the Ed25519 keys that sign access tokens — made on first start, rotated by steps.

The layout and the rules are the contract in kadra_defaults.contracts.access_tokens. With the key ring
(KADRA_JWT_KEYS_DIR; public keys in KADRA_JWT_PUBLIC_KEYS_DIR when that is set):

    kadra-keys                 first start: a key when the ring has none (the single private key file,
                               when it exists, is taken in under its thumbprint kid: its tokens keep
                               working), public keys derived where missing, signing-kid written
    kadra-keys list            every kid: private key, published, signing
    kadra-keys add             rotation step 1: a new key, published, not signing yet
    kadra-keys sign KID        step 2, once every verifier has KID: identity signs with it
    kadra-keys retire KID      step 3, an access-token lifetime after step 2: KID is no longer published
    kadra-keys import FILE     an existing private key file into the ring, under its thumbprint kid
    kadra-keys kubernetes      the dev overlay's first start: the ring as two Secrets (identity.key_secrets)

Without the ring, `kadra-keys` makes the single pair KADRA_JWT_PRIVATE_KEY_FILE /
KADRA_JWT_PUBLIC_KEY_FILE unless it exists (what it always did). Files are written whole, then renamed
into place: a reader never sees half a key.
"""
import argparse
import os
import secrets
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kadra_defaults import settings
from kadra_defaults.contracts.access_tokens import KID, PRIVATE_SUFFIX, PUBLIC_SUFFIX, SIGNING_FILE, key_files
from kadra_defaults.contracts.ed25519_keys import (load_private_pem, load_public_pem, private_pem, public_pem, raw,
                                                   thumbprint)


class KeysError(ValueError):
    """A step that would break token signing or checking; the message says why."""


def _write(path: str, data: bytes, mode: int, folder_mode: int = 0o700) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=folder_mode, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load_private(path: str) -> Ed25519PrivateKey:
    with open(path, "rb") as f:
        return load_private_pem(f.read())


def load_public(path: str) -> Ed25519PublicKey:
    with open(path, "rb") as f:
        return load_public_pem(f.read())


# the single pair (no ring)

def ensure_keys(private_path: str, public_path: str) -> str:
    """Create the pair if the private key is missing, the public key if only it is missing.

    Returns what it did: "created", "public derived" or "present". A public key
    that does not match the private one is an error (tokens would not verify).
    """
    if not os.path.exists(private_path):
        key = Ed25519PrivateKey.generate()
        _write(private_path, private_pem(key), 0o600)
        _write(public_path, public_pem(key.public_key()), 0o644)
        return "created"
    key = load_private(private_path)
    if not os.path.exists(public_path):
        _write(public_path, public_pem(key.public_key()), 0o644)
        return "public derived"
    with open(public_path, "rb") as f:
        if f.read().strip() != public_pem(key.public_key()).strip():
            raise ValueError(f"{public_path} does not match {private_path}")
    return "present"


# the ring

class Ring:
    """The key ring's folders: private keys and signing-kid in `folder`, public keys in `public`."""

    def __init__(self, folder: str, public: str = ""):
        self.folder, self.public = folder, public or folder

    def privates(self) -> dict[str, str]:
        return key_files(self.folder, PRIVATE_SUFFIX, exclude=PUBLIC_SUFFIX)

    def published(self) -> dict[str, str]:
        return key_files(self.public, PUBLIC_SUFFIX)

    def signing(self) -> str | None:
        try:
            with open(os.path.join(self.folder, SIGNING_FILE), encoding="utf-8") as f:
                return f.read().strip() or None
        except OSError:
            return None

    def _publish(self, kid: str, key: Ed25519PrivateKey) -> None:
        _write(os.path.join(self.public, kid + PUBLIC_SUFFIX), public_pem(key.public_key()), 0o644, 0o755)

    def _store(self, kid: str, key: Ed25519PrivateKey) -> None:
        _write(os.path.join(self.folder, kid + PRIVATE_SUFFIX), private_pem(key), 0o600)
        self._publish(kid, key)

    def add(self, key: Ed25519PrivateKey | None = None, kid: str | None = None) -> str:
        """A new key (or `key`), published and not signing; its kid."""
        key = key or Ed25519PrivateKey.generate()
        kid = kid or time.strftime("%Y%m%d", time.gmtime()) + "-" + secrets.token_hex(4)
        if not KID.match(kid):
            raise KeysError(f"{kid!r} is not a kid (1-64 letters, digits, '-' or '_')")
        if kid in self.privates():
            existing = load_private(self.privates()[kid])
            if raw(existing.public_key()) != raw(key.public_key()):
                raise KeysError(f"{kid} is already in the ring with another key")
        self._store(kid, key)
        return kid

    def sign(self, kid: str) -> None:
        """Make `kid` the signing key: its private key must be here and its public key published."""
        privates, published = self.privates(), self.published()
        if kid not in privates:
            raise KeysError(f"{kid}{PRIVATE_SUFFIX} is not in {self.folder}")
        if kid not in published:
            raise KeysError(f"{kid} is not published ({kid}{PUBLIC_SUFFIX} is not in {self.public}): add it first")
        if raw(load_public(published[kid])) != raw(load_private(privates[kid]).public_key()):
            raise KeysError(f"{published[kid]} does not match {privates[kid]}")
        _write(os.path.join(self.folder, SIGNING_FILE), (kid + "\n").encode(), 0o600)

    def retire(self, kid: str) -> None:
        """Stop publishing `kid` and drop its private key; never the signing one."""
        if kid == self.signing() or (self.signing() is None and list(self.privates()) == [kid]):
            raise KeysError(f"{kid} signs tokens now: sign with another key first")
        found = False
        for path in (self.published().get(kid), self.privates().get(kid)):
            if path:
                os.unlink(path)
                found = True
        if not found:
            raise KeysError(f"{kid} is not in the ring")

    def ensure(self, legacy_private: str = "") -> list[str]:
        """First start: a signing key when there is none, every public key published; what it did."""
        did = []
        privates = self.privates()
        if not privates:
            if legacy_private and os.path.exists(legacy_private):
                key = load_private(legacy_private)
                kid = self.add(key, thumbprint(key.public_key()))
                did.append(f"took in {legacy_private} as {kid}")
            else:
                kid = self.add()
                did.append(f"created {kid}")
            privates = self.privates()
        published = self.published()
        for kid, path in sorted(privates.items()):
            key = load_private(path)
            if kid not in published:
                self._publish(kid, key)
                did.append(f"published {kid}")
            elif raw(load_public(published[kid])) != raw(key.public_key()):
                raise KeysError(f"{published[kid]} does not match {path}")
        if self.signing() is None:
            if len(privates) != 1:
                raise KeysError(f"{SIGNING_FILE} is missing in {self.folder} and there are {len(privates)} keys: "
                                f"choose one with `kadra-keys sign KID`")
            self.sign(next(iter(privates)))
            did.append(f"signing with {next(iter(privates))}")
        return did or ["present"]

    def rows(self) -> list[tuple[str, bool, bool, bool]]:
        """(kid, has a private key, published, signing) for every kid in the ring."""
        privates, published, signing = self.privates(), self.published(), self.signing()
        return [(kid, kid in privates, kid in published, kid == signing)
                for kid in sorted(set(privates) | set(published))]


def main(argv: list[str] | None = None) -> int:
    """`kadra-keys [list|add|sign KID|retire KID|import FILE]` (paths from the environment)."""
    parser = argparse.ArgumentParser(prog="kadra-keys", description="Make and rotate the access-token signing keys.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("list", help="every kid: private key, published, signing")
    sub.add_parser("add", help="rotation step 1: a new key, published, not signing yet")
    sub.add_parser("sign", help="rotation step 2: sign with KID").add_argument("kid")
    sub.add_parser("retire", help="rotation step 3: stop publishing KID").add_argument("kid")
    sub.add_parser("import", help="take an existing private key file in").add_argument("file")
    k8s = sub.add_parser("kubernetes", help="first start in a cluster: make the key Secrets unless they exist")
    k8s.add_argument("--private-secret", default="kadra-jwt-keys")
    k8s.add_argument("--public-secret", default="kadra-jwt-public")
    args = parser.parse_args(argv)
    current = settings.check_or_exit("kadra-keys")
    try:
        if args.command == "kubernetes":
            from identity import key_secrets

            did = key_secrets.ensure(key_secrets.Api.in_cluster(), args.private_secret, args.public_secret,
                                     {"app.kubernetes.io/part-of": "kadra", "app.kubernetes.io/name": "kadra-keys"})
            sys.stdout.write("".join(f"kadra-keys: {line}\n" for line in did))
            return 0
        if not current.jwt_keys_dir:
            if args.command:
                raise KeysError(f"`kadra-keys {args.command}` needs the key ring: set KADRA_JWT_KEYS_DIR")
            private, public = current.jwt_private_key_file, current.jwt_public_key_file
            what = ensure_keys(private, public)
            sys.stdout.write(f"kadra-keys: {what}: {private} (private), {public} (public)\n")
            return 0
        ring = Ring(current.jwt_keys_dir, current.jwt_public_keys_dir)
        if args.command is None:
            sys.stdout.write("".join(f"kadra-keys: {line}\n" for line in ring.ensure(current.jwt_private_key_file)))
        elif args.command == "list":
            for kid, private, published, signing in ring.rows():
                sys.stdout.write(f"{kid}\t{'private' if private else '-'}\t{'published' if published else '-'}"
                                 f"\t{'signing' if signing else ''}\n".replace("\t\n", "\n"))
        elif args.command == "add":
            sys.stdout.write(ring.add() + "\n")
        elif args.command == "sign":
            ring.sign(args.kid)
            sys.stdout.write(f"kadra-keys: signing with {args.kid}\n")
        elif args.command == "retire":
            ring.retire(args.kid)
            sys.stdout.write(f"kadra-keys: retired {args.kid}\n")
        elif args.command == "import":
            key = load_private(args.file)
            sys.stdout.write(ring.add(key, thumbprint(key.public_key())) + "\n")
    except (ValueError, OSError, RuntimeError, KeyError) as exc:
        sys.stderr.write(f"kadra-keys: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
