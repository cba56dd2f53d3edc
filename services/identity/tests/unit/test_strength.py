"""identity.strength: the estimator the password policy uses (zxcvbn with Polish words and the person's own)."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from identity import strength


def test_polish_letters_are_folded_and_case_kept():
    assert strength.fold("Hasło ŻÓŁW źdźbło") == "Haslo ZOLW zdzblo"


def test_own_words_are_the_address_its_pieces_the_names_and_the_product():
    own = strength.own_words("Ala.Nowak77@Biuro-Rachunkowe.pl", ("Alicja Nowak", "Łąka Sp. z o.o."))
    for word in ("ala.nowak77@biuro-rachunkowe.pl", "ala.nowak77", "nowak77", "biuro-rachunkowe.pl",
                 "biuro-rachunkowe", "rachunkowe"):
        assert own[word] == "email", word
    for word in ("alicja nowak", "alicjanowak", "alicja", "nowak", "laka"):
        assert own[word] == "name", word
    assert own["kadra"] == "product"
    assert "sp" not in own and "z" not in own  # too short to be words of their own
    assert strength.own_words(None, (None, 5, "")) == {"kadra": "product", "kadry": "product"}


@pytest.mark.parametrize("password", ["correct horse battery staple", "Haslo123456!", "ala.nowak772024",
                                      "Dobre-Haslo-2025!", "qwertyuiop12", "password1password"])
def test_the_merged_dictionary_matcher_finds_what_zxcvbns_own_finds(password):
    dictionaries = strength._dictionaries()
    dictionaries = {**dictionaries, "user_inputs": {"ala.nowak77": 1, "nowak": 2}}

    def found(matches):
        return sorted((m["i"], m["j"], m["dictionary_name"], m["matched_word"], m["rank"]) for m in matches)

    assert found(strength._dictionary_match(password, dictionaries)) == found(
        strength.ZXCVBN_DICTIONARY_MATCH(password, dictionaries))


def test_look_alikes_are_found_within_a_bounded_number_of_tries():
    _, pieces = strength.estimate("h@sl0p0lsk@")
    assert [(p["pattern"], p["matched_word"], p["l33t"]) for p in pieces] == [
        ("dictionary", "haslo", True), ("dictionary", "polska", True)]


def test_years_of_this_century_are_years():
    _, pieces = strength.estimate("2031")
    assert pieces[0]["pattern"] == "regex"


def test_only_the_beginning_is_estimated():
    guesses, _ = strength.estimate("k8Tq2mZx9LpW" * 100)
    assert math.log10(guesses) >= 12
    assert len(strength.fold("x" * 1000)[:strength.ESTIMATED_LENGTH]) == 40


@pytest.mark.parametrize("token,shape", [("zaq12wsx", "keyboard"), ("qwertyuiop", "keyboard"), ("123456789", "sequence"),
                                         ("aaaa", "repeat"), ("haslo", None)])
def test_the_shape_of_a_listed_password(token, shape):
    assert strength.shape(token) == shape


@settings(max_examples=300, deadline=None)
@given(password=st.text(max_size=120), email=st.one_of(st.none(), st.emails()), name=st.text(max_size=60))
def test_any_text_gets_an_answer_never_an_error(password, email, name):
    from identity.passwords import policy_errors

    errors = policy_errors(password, email=email, inputs=(name,))
    assert isinstance(errors, list) and all(e["message"] and e["message_pl"] for e in errors)
