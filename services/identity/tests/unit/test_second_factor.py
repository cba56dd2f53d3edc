"""TOTP codes and recovery codes, without a database: which step a code is, the drift window, recovery codes'
shape and how they are compared."""
import pyotp
import pytest

from identity import second_factor as sf

SECRET = pyotp.random_base32(32)
NOW = 1_790_000_015.0  # a moment inside a step


def code_at(step: int) -> str:
    return pyotp.TOTP(SECRET).generate_otp(step)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_of_the_step_or_one_either_side_is_that_step(offset):
    step = int(NOW // 30) + offset
    assert sf.matching_step(SECRET, code_at(step), NOW) == step


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_a_code_two_steps_away_is_refused(offset):
    step = int(NOW // 30) + offset
    code = code_at(step)
    near = {code_at(int(NOW // 30) + d) for d in (-1, 0, 1)}
    if code in near:  # one in a million: the far code equals a near one
        pytest.skip("code collision")
    assert sf.matching_step(SECRET, code, NOW) is None


@pytest.mark.parametrize("bad", [None, 123456, "", "12345", "1234567", "abcdef", "12 34 5"])
def test_malformed_codes_match_nothing(bad):
    assert sf.matching_step(SECRET, bad, NOW) is None


def test_a_code_typed_with_spaces_still_matches():
    step = int(NOW // 30)
    code = code_at(step)
    assert sf.matching_step(SECRET, f" {code[:3]} {code[3:]} ", NOW) == step


def test_recovery_codes_are_random_readable_and_compared_without_case_or_dashes():
    codes = {sf.new_recovery_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 11 and code[5] == "-"
        assert set(code.replace("-", "")) <= set(sf.RECOVERY_ALPHABET)
    code = next(iter(codes))
    assert sf.digest(sf.normalise_recovery(code.upper().replace("-", " "))) == sf.digest(sf.normalise_recovery(code))


def test_methods_of_names_the_accounts_with_totp_on_and_refuses_a_bad_list():
    import types

    import mongomock

    from identity.exceptions import InvalidInput
    from identity.storage import IdentityStore

    db = mongomock.MongoClient(tz_aware=True)["kt_identity_sf"]
    store = IdentityStore(db)
    db["factors"].insert_many([{"_id": "on", "state": "on"}, {"_id": "pending", "state": "pending"},
                               {"_id": "off", "state": "off"}])
    deps = types.SimpleNamespace(store=store)
    assert sf.methods_of(deps, ["on", "pending", "off", "never", "on", 7]) == {
        "on": ["totp"], "pending": [], "off": [], "never": []}
    for bad in ("on", None, ["x"] * 501):
        with pytest.raises(InvalidInput):
            sf.methods_of(deps, bad)
