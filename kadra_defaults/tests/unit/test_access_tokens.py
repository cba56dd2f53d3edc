"""The access-token key ring: kids, the published set, the signing choice, and re-reading while running."""
import os
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kadra_defaults.contracts import access_tokens as at
from kadra_defaults.contracts import ed25519_keys as ed


def _pair(folder, kid, key=None, public=None):
    key = key or Ed25519PrivateKey.generate()
    (folder / f"{kid}.pem").write_bytes(ed.private_pem(key))
    (public or folder).joinpath(f"{kid}.pub.pem").write_bytes(ed.public_pem(key.public_key()))
    return key


def _later(path):
    """Make a rewrite visible to the stat check even on a coarse-mtime file system."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))


def test_thumbprint_and_jwk_are_rfc_8037s_example():
    # RFC 8037 appendix A.1 and A.3
    x = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    key = Ed25519PublicKey.from_public_bytes(x)
    assert ed.thumbprint(key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert ed.jwk("k1", key) == {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                                 "kid": "k1", "use": "sig", "alg": "EdDSA"}


def test_public_keys_of_a_folder_by_file_name_ignoring_private_and_hidden_files(tmp_path):
    a = _pair(tmp_path, "key-a")
    (tmp_path / ".key-b.pub.pem").write_bytes(ed.public_pem(Ed25519PrivateKey.generate().public_key()))
    (tmp_path / "bad name.pub.pem").write_bytes(ed.public_pem(Ed25519PrivateKey.generate().public_key()))
    (tmp_path / "broken.pub.pem").write_bytes(b"not a key")
    keys = at.PublicKeys(folder=str(tmp_path))
    assert list(keys.all()) == ["key-a"]
    assert ed.raw(keys.get("key-a")) == ed.raw(a.public_key())
    for kid in (None, "", "key-b", "../key-a", "key-a.pub", 7, "x" * 65):
        assert keys.get(kid) is None
    assert [k["kid"] for k in keys.jwks()["keys"]] == ["key-a"]


def test_a_key_added_or_removed_is_seen_within_the_reload_interval_not_before(tmp_path):
    _pair(tmp_path, "old")
    keys = at.PublicKeys(folder=str(tmp_path), every=0.2)
    assert list(keys.all()) == ["old"]
    _pair(tmp_path, "new")
    assert keys.get("new") is None  # no look at the folder per call
    time.sleep(0.25)
    assert keys.get("new") is not None
    os.unlink(tmp_path / "old.pub.pem")
    time.sleep(0.25)
    assert keys.get("old") is None and sorted(keys.all()) == ["new"]


def test_a_rewritten_single_file_is_read_again_under_its_new_thumbprint(tmp_path):
    path = tmp_path / "jwt.pub.pem"
    first, second = Ed25519PrivateKey.generate().public_key(), Ed25519PrivateKey.generate().public_key()
    path.write_bytes(ed.public_pem(first))
    keys = at.PublicKeys(file=str(path), every=0)
    assert list(keys.all()) == [ed.thumbprint(first)]
    path.write_bytes(ed.public_pem(second))
    _later(path)
    assert list(keys.all()) == [ed.thumbprint(second)]


def test_signing_follows_signing_kid_only_to_a_published_matching_key(tmp_path):
    old = _pair(tmp_path, "old")
    (tmp_path / "signing-kid").write_text("old\n")
    ring = at.SigningKeys(folder=str(tmp_path), every=0)
    assert ring.current().kid == "old" and ed.raw(ring.current().key.public_key()) == ed.raw(old.public_key())

    # not published: not followed, the old key goes on signing
    (tmp_path / "unpublished.pem").write_bytes(ed.private_pem(Ed25519PrivateKey.generate()))
    (tmp_path / "signing-kid").write_text("unpublished\n")
    _later(tmp_path / "signing-kid")
    assert ring.current().kid == "old" and "not published" in ring.problem

    # published, but another key's public half: not followed
    (tmp_path / "unpublished.pub.pem").write_bytes(ed.public_pem(Ed25519PrivateKey.generate().public_key()))
    assert ring.current().kid == "old" and "is not the public key" in ring.problem

    # a kid with no private key, and a file that is no kid: not followed
    for content in ("ghost\n", "../old\n"):
        (tmp_path / "signing-kid").write_text(content)
        _later(tmp_path / "signing-kid")
        assert ring.current().kid == "old" and ring.problem

    _pair(tmp_path, "new")
    (tmp_path / "signing-kid").write_text("new\n")
    _later(tmp_path / "signing-kid")
    assert ring.current().kid == "new" and ring.problem == ""


def test_without_signing_kid_one_key_signs_and_several_are_refused(tmp_path):
    _pair(tmp_path, "only")
    assert at.SigningKeys(folder=str(tmp_path)).current().kid == "only"
    _pair(tmp_path, "second")
    with pytest.raises(at.KeyRingError, match="signing-kid is missing"):
        at.SigningKeys(folder=str(tmp_path)).current()


def test_public_keys_in_their_own_folder(tmp_path):
    private, public = tmp_path / "private", tmp_path / "public"
    private.mkdir()
    public.mkdir()
    _pair(private, "k1", public=public)
    assert at.SigningKeys(folder=str(private), public_folder=str(public)).current().kid == "k1"
    assert list(at.PublicKeys(folder=str(public)).all()) == ["k1"]
    with pytest.raises(at.KeyRingError, match="not published"):
        at.SigningKeys(folder=str(private)).current()  # its own folder holds no public key


def test_the_single_private_file_signs_under_its_thumbprint(tmp_path):
    key = Ed25519PrivateKey.generate()
    (tmp_path / "jwt.pem").write_bytes(ed.private_pem(key))
    assert at.SigningKeys(file=str(tmp_path / "jwt.pem")).current().kid == ed.thumbprint(key.public_key())
    with pytest.raises(at.KeyRingError, match="cannot be read"):
        at.SigningKeys(file=str(tmp_path / "missing.pem")).current()


def test_requests_arriving_together_on_a_fresh_process_all_wait_for_the_first_load(tmp_path, monkeypatch):
    """A new gateway worker's first requests arrive at once: none may see an empty key set (a 401 seen once in
    a rolling restart before the first load was waited for)."""
    import threading

    _pair(tmp_path, "only")
    keys = at.PublicKeys(folder=str(tmp_path))
    slow_load = keys._load

    def load_slowly(contents):
        time.sleep(0.3)
        slow_load(contents)

    monkeypatch.setattr(keys, "_load", load_slowly)
    barrier, seen = threading.Barrier(8), []

    def ask():
        barrier.wait()
        seen.append(keys.get("only") is not None)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [True] * 8
