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
