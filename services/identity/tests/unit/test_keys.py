"""identity.keys: the JWT key pair is created when missing and never overwritten."""
import os
import stat

import pytest

from identity.keys import ensure_keys, load_private, load_public, main


def test_creates_then_keeps_the_pair(tmp_path):
    private, public = str(tmp_path / "k" / "jwt.pem"), str(tmp_path / "k" / "jwt.pub.pem")
    assert ensure_keys(private, public) == "created"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    before = open(private, "rb").read()
    assert ensure_keys(private, public) == "present"
    assert open(private, "rb").read() == before
    signature = load_private(private).sign(b"x")
    load_public(public).verify(signature, b"x")


def test_derives_a_missing_public_key_and_refuses_a_mismatch(tmp_path):
    private, public = str(tmp_path / "a.pem"), str(tmp_path / "a.pub.pem")
    ensure_keys(private, public)
    os.unlink(public)
    assert ensure_keys(private, public) == "public derived"
    other_private, other_public = str(tmp_path / "b.pem"), str(tmp_path / "b.pub.pem")
    ensure_keys(other_private, other_public)
    with pytest.raises(ValueError):
        ensure_keys(private, other_public)


def test_console_script_uses_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KADRA_JWT_PRIVATE_KEY_FILE", str(tmp_path / "p.pem"))
    monkeypatch.setenv("KADRA_JWT_PUBLIC_KEY_FILE", str(tmp_path / "p.pub.pem"))
    assert main([]) == 0
    assert "created" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "p.pub.pem")


# the key ring

@pytest.fixture
def ring(tmp_path, monkeypatch):
    monkeypatch.setenv("KADRA_JWT_KEYS_DIR", str(tmp_path / "ring"))
    monkeypatch.setenv("KADRA_JWT_PRIVATE_KEY_FILE", str(tmp_path / "none.pem"))
    return tmp_path / "ring"


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def _listed(capsys):
    code, out = _run(capsys, "list")
    assert code == 0
    return [line.split("\t") for line in out.splitlines()]


def test_first_start_makes_one_published_signing_key_then_changes_nothing(ring, capsys):
    code, out = _run(capsys, )
    assert code == 0 and "created" in out and "signing with" in out
    (row,) = _listed(capsys)
    kid = row[0]
    assert row[1:] == ["private", "published", "signing"]
    assert stat.S_IMODE(os.stat(ring / f"{kid}.pem").st_mode) == 0o600
    before = sorted(os.listdir(ring))
    assert _run(capsys) == (0, "kadra-keys: present\n")
    assert sorted(os.listdir(ring)) == before


def test_rotation_steps_and_the_ones_refused(ring, capsys):
    _run(capsys)
    (old,) = [row[0] for row in _listed(capsys)]
    code, new = _run(capsys, "add")
    new = new.strip()
    assert code == 0 and [row[:3] for row in _listed(capsys) if row[0] == new] == [[new, "private", "published"]]
    assert [row[0] for row in _listed(capsys) if row[3:] == ["signing"]] == [old]  # added, not signing
    assert _run(capsys, "retire", old)[0] == 1  # the signing key cannot go
    os.rename(ring / f"{new}.pub.pem", ring / "hidden")
    code, out = _run(capsys, "sign", new)
    assert code == 1 and "not published" in out  # switching to an unpublished key would log everybody out
    os.rename(ring / "hidden", ring / f"{new}.pub.pem")
    assert _run(capsys, "sign", new)[0] == 0
    assert (ring / "signing-kid").read_text().strip() == new
    assert _run(capsys, "retire", old)[0] == 0
    assert [row[0] for row in _listed(capsys)] == [new]
    assert _run(capsys, "retire", "nobody")[0] == 1
    assert _run(capsys, "sign", "../etc")[0] == 1


def test_first_start_takes_in_the_single_file_pair_under_its_thumbprint(ring, tmp_path, monkeypatch, capsys):
    from kadra_defaults.contracts.ed25519_keys import thumbprint

    legacy = str(tmp_path / "legacy.pem")
    ensure_keys(legacy, str(tmp_path / "legacy.pub.pem"))
    monkeypatch.setenv("KADRA_JWT_PRIVATE_KEY_FILE", legacy)
    code, out = _run(capsys)
    kid = thumbprint(load_private(legacy).public_key())
    assert code == 0 and f"took in {legacy} as {kid}" in out
    assert _listed(capsys) == [[kid, "private", "published", "signing"]]


def test_ring_commands_need_the_ring(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KADRA_JWT_KEYS_DIR", raising=False)
    code, out = _run(capsys, "add")
    assert code == 1 and "KADRA_JWT_KEYS_DIR" in out
