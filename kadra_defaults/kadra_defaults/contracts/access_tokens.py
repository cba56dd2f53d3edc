"""Access tokens: what identity signs, and what the gateway and the product's other apps check.

An access token is a JWT signed with Ed25519 (EdDSA)::

    header  {"alg": "EdDSA", "typ": "at+jwt", "kid": "<the signing key's id>"}
    claims  {"iss": KADRA_PUBLIC_URL, "aud": "kadra", "typ": "access", "sub", "sid", "iat", "exp", "jti",
             "did" (bound to the trusted device)}

Every key that verifies tokens is published at ``GET /.well-known/jwks.json`` (JWK: ``kty`` OKP, ``crv``
Ed25519, ``x``, ``kid``, ``use`` sig, ``alg`` EdDSA); a verifier takes the key its ``kid`` names and
refuses a token without ``kid`` or with one it does not publish.

The key ring (``KADRA_JWT_KEYS_DIR``) is a folder, read again while running::

    <kid>.pem         a private key (identity only; mode 0600)
    <kid>.pub.pem     a public key: published, and verifies the tokens that name <kid>
    signing-kid       one line: the kid identity signs with (both its files must be there)

The public keys may live in a folder of their own (``KADRA_JWT_PUBLIC_KEYS_DIR``: the gateway gets only
that one). A kid is 1-64 letters, digits, ``-`` or ``_``; names starting with ``.`` are ignored (a
Kubernetes Secret volume's ``..data``, an editor's temporary file). Rotation: add ``<new>.pem`` and
``<new>.pub.pem`` (published, not yet signing), switch ``signing-kid`` once every verifier has it,
remove the old public key after the access-token lifetime (deploy/README.md; ``kadra-keys`` does each step).

Without a key ring, the single pair ``KADRA_JWT_PRIVATE_KEY_FILE`` / ``KADRA_JWT_PUBLIC_KEY_FILE`` is used
(as before the ring): its kid is the key's RFC 7638 thumbprint, which both sides compute alike.

Both sides look at their files at most every ``RELOAD_EVERY`` seconds (a stat per file, never per
request): a key added on the machine or a Secret update is in use a few seconds after it lands.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kadra_defaults.contracts.ed25519_keys import jwk, load_private_pem, load_public_pem, raw, thumbprint

log = logging.getLogger(__name__)

AUDIENCE = "kadra"
HEADER_TYP = "at+jwt"
KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PRIVATE_SUFFIX = ".pem"
PUBLIC_SUFFIX = ".pub.pem"
SIGNING_FILE = "signing-kid"
RELOAD_EVERY = 2.0
MAX_KEY_FILE = 16 * 1024


class KeyRingError(RuntimeError):
    """No key to sign with (or a ring that cannot be read); the message says what to fix."""


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(MAX_KEY_FILE + 1)


class _Watched:
    """Files read again when their stat changes, looked at most every `every` seconds, by one thread at a
    time (the others use the last snapshot meanwhile). `_paths()` says which files; `_load(contents)` builds."""

    def __init__(self, every: float | None = None):
        self._every = RELOAD_EVERY if every is None else every
        self._next = 0.0
        self._stamp = None
        self._lock = threading.Lock()

    def _paths(self) -> list[str]:
        raise NotImplementedError

    def _load(self, contents: dict[str, bytes]) -> None:
        raise NotImplementedError

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        # Until the first load is done there is no snapshot to use meanwhile: wait for it (a new worker's
        # first requests arrive together; without this the others saw no keys and refused a good token).
        first = self._stamp is None
        if not force and not first and now < self._next:
            return
        if not self._lock.acquire(blocking=force or first):
            return
        try:
            self._next = now + self._every
            stamps = []
            for path in self._paths():
                try:
                    st = os.stat(path)  # follows a Secret volume's symlinks: a new version is a new inode
                except OSError:
                    continue
                stamps.append((path, st.st_ino, st.st_mtime_ns, st.st_size))
            stamp = tuple(sorted(stamps))
            if stamp == self._stamp:
                return
            contents = {}
            for path, *_ in stamp:
                try:
                    contents[path] = _read(path)
                except OSError:
                    continue
            self._load(contents)
            self._stamp = stamp
        finally:
            self._lock.release()


def key_files(folder: str, suffix: str, exclude: str | None = None) -> dict[str, str]:
    """{kid: path} of the `<kid><suffix>` files in `folder` (not the `exclude` ones)."""
    found = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in names:
        if name.startswith(".") or not name.endswith(suffix) or (exclude and name.endswith(exclude)):
            continue
        kid = name[:-len(suffix)]
        if KID.match(kid):
            found[kid] = os.path.join(folder, name)
    return found


class PublicKeys(_Watched):
    """The verifying keys, by kid: the `<kid>.pub.pem` files of a folder, or one public key file.

    `get(kid)` is what a verifier calls per token (a dict look-up; the files are looked at most every
    RELOAD_EVERY seconds); `jwks()` is the published set.
    """

    def __init__(self, folder: str = "", file: str = "", pem: bytes | str | None = None,
                 every: float | None = None):
        super().__init__(every)
        self._folder, self._file = folder, file
        self._keys: dict[str, Ed25519PublicKey] = {}
        if pem:  # given (tests): fixed, never read from disk
            key = load_public_pem(pem.encode() if isinstance(pem, str) else pem)
            self._keys = {thumbprint(key): key}
            self._folder = self._file = ""
            self._next = float("inf")
            self._stamp = ()  # loaded: nothing to wait for

    def _paths(self) -> list[str]:
        if self._folder:
            return list(key_files(self._folder, PUBLIC_SUFFIX).values())
        return [self._file] if self._file else []

    def _load(self, contents: dict[str, bytes]) -> None:
        keys = {}
        for path, data in contents.items():
            try:
                key = load_public_pem(data)
            except ValueError as error:
                log.warning("public key file skipped", extra={"path": path, "error": str(error)})
                continue
            kid = os.path.basename(path)[:-len(PUBLIC_SUFFIX)] if self._folder else thumbprint(key)
            keys[kid] = key
        if not keys:
            log.warning("no verifying key: every access token is refused",
                        extra={"folder": self._folder, "file": self._file})
        elif keys != self._keys:
            log.info("verifying keys", extra={"kids": sorted(keys)})
        self._keys = keys

    def get(self, kid) -> Ed25519PublicKey | None:
        """The public key `kid` names, or None (an unknown or malformed kid)."""
        if not isinstance(kid, str) or not KID.match(kid):
            return None
        self.refresh()
        return self._keys.get(kid)

    def all(self) -> dict[str, Ed25519PublicKey]:
        self.refresh()
        return dict(self._keys)

    def jwks(self) -> dict:
        """The published set: {"keys": [JWK, ...]} in kid order."""
        return {"keys": [jwk(kid, key) for kid, key in sorted(self.all().items())]}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: Ed25519PrivateKey


class SigningKeys(_Watched):
    """The key identity signs with: `signing-kid` of the ring (when published), or the single private file.

    A switch to a kid whose private key is missing, or whose public key is not published (or does not
    match), is not followed: the key signing until then goes on signing, and the reason is logged. A
    verifier would refuse every token signed with an unpublished key, logging everybody out.
    """

    def __init__(self, folder: str = "", public_folder: str = "", file: str = "", every: float | None = None):
        super().__init__(every)
        self._folder, self._file = folder, file
        self._public_folder = public_folder or folder
        self._current: SigningKey | None = None
        self._problem = "no signing key read yet"

    def _paths(self) -> list[str]:
        if not self._folder:
            return [self._file]
        paths = [os.path.join(self._folder, SIGNING_FILE)]
        paths += key_files(self._folder, PRIVATE_SUFFIX, exclude=PUBLIC_SUFFIX).values()
        paths += key_files(self._public_folder, PUBLIC_SUFFIX).values()
        return paths

    def _load(self, contents: dict[str, bytes]) -> None:
        try:
            chosen = self._choose(contents)
        except (KeyRingError, ValueError) as error:
            self._problem = str(error)
            if self._current is None:
                log.error("no signing key", extra={"reason": self._problem})
            else:
                log.error("signing key switch not followed; still signing with the previous key",
                          extra={"reason": self._problem, "kid": self._current.kid})
            return
        if self._current is None or chosen.kid != self._current.kid:
            log.info("signing key", extra={"kid": chosen.kid})
        self._current, self._problem = chosen, ""

    def _choose(self, contents: dict[str, bytes]) -> SigningKey:
        if not self._folder:
            if self._file not in contents:
                raise KeyRingError(f"the private key file {self._file} cannot be read")
            key = load_private_pem(contents[self._file])
            return SigningKey(thumbprint(key.public_key()), key)
        privates = key_files(self._folder, PRIVATE_SUFFIX, exclude=PUBLIC_SUFFIX)
        named = contents.get(os.path.join(self._folder, SIGNING_FILE))
        if named is not None:
            kid = named.decode("utf-8", "replace").strip()
            if not KID.match(kid):
                raise KeyRingError(f"{SIGNING_FILE} in {self._folder} does not hold a kid: {kid[:70]!r}")
        elif len(privates) == 1:
            (kid,) = privates
        else:
            raise KeyRingError(f"{SIGNING_FILE} is missing in {self._folder} "
                               f"({len(privates)} private keys: say which one signs)")
        if kid not in privates or privates[kid] not in contents:
            raise KeyRingError(f"{kid}{PRIVATE_SUFFIX} is missing in {self._folder}")
        key = load_private_pem(contents[privates[kid]])
        published = os.path.join(self._public_folder, kid + PUBLIC_SUFFIX)
        if published not in contents:
            raise KeyRingError(f"{kid} is not published: {published} is missing")
        if raw(load_public_pem(contents[published])) != raw(key.public_key()):
            raise KeyRingError(f"{published} is not the public key of {kid}{PRIVATE_SUFFIX}")
        return SigningKey(kid, key)

    def current(self) -> SigningKey:
        """The key to sign with now; KeyRingError when there has never been one."""
        self.refresh(force=self._current is None)
        if self._current is None:
            raise KeyRingError(self._problem)
        return self._current

    @property
    def problem(self) -> str:
        """Why the ring's choice is not followed ("" when it is)."""
        return self._problem


def public_keys_of(current, pem: bytes | str | None = None) -> PublicKeys:
    """The verifying keys the settings name: the ring's public folder, else the single public key file."""
    folder = current.jwt_public_keys_dir or current.jwt_keys_dir
    return PublicKeys(folder=folder, file="" if folder else current.jwt_public_key_file, pem=pem)


def signing_keys_of(current) -> SigningKeys:
    """The signing key the settings name: the ring, else the single private key file."""
    if current.jwt_keys_dir:
        return SigningKeys(folder=current.jwt_keys_dir, public_folder=current.jwt_public_keys_dir)
    return SigningKeys(file=current.jwt_private_key_file)
