"""identity.passwords: argon2id parameters, rehash, and the password policy."""
import pytest
from argon2 import PasswordHasher, Type

from identity import passwords
from identity.passwords import policy_errors


def test_parameters_are_at_least_owasp():
    params = passwords.ARGON2_PARAMETERS
    assert params["memory_cost"] >= 19 * 1024 and params["time_cost"] >= 2 and params["parallelism"] >= 1
    assert passwords.hasher.type is Type.ID
    assert passwords.hash_password("x" * 12).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_verify_and_rehash_when_parameters_rise():
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash("zażółć gęślą jaźń")
    assert passwords.verify_password(weak, "zażółć gęślą jaźń")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("zażółć gęślą jaźń"))
    assert not passwords.verify_password(weak, "zażółć gęślą jaźń!")


def test_unknown_account_spends_a_verify_and_fails():
    assert passwords.verify_password(None, "anything at all") is False


@pytest.mark.parametrize("password", ["x" * 12, "zażółć gęślą", "🔑" * 12, " leading and trailing ", "a" * 128,
                                      "p" * 1024])
def test_long_enough_unicode_passwords_pass(password):
    assert policy_errors(password) == []


def test_no_truncation_the_129th_character_counts():
    base = "k" * 128
    stored = passwords.hash_password(base + "A")
    assert passwords.verify_password(stored, base + "A")
    assert not passwords.verify_password(stored, base + "B")


@pytest.mark.parametrize("password,phrase", [
    ("short", "at least 12"), ("x" * 11, "at least 12"), ("y" * 1025, "at most 1024"),
    ("qwerty123456", "most common"), ("1qaz2wsx3edc", "most common"), ("QWERTY123456", "most common"),
])
def test_policy_refusals_say_why_in_both_languages(password, phrase):
    (error,) = policy_errors(password, field="new_password")
    assert error["field"] == "new_password" and phrase in error["message"] and error["message_pl"]


def test_common_list_has_the_top_3000():
    common = passwords.common_passwords()
    assert len(common) >= 3000
    assert {"123456", "password", "qwerty", "dragon"} <= common


def test_the_email_is_not_a_password():
    assert policy_errors("anna@example.com", email="Anna@Example.com")


def test_not_a_string():
    assert policy_errors(None)[0]["field"] == "password"
