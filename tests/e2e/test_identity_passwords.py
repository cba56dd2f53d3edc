"""Guessable passwords, tried as a person would choose them (issue 14: every one below was accepted).

Through the gateway, on the two routes where a signed-up person picks a new password: the change
(POST /auth/password/change) and the reset link (POST /auth/password/reset). A refusal is a 422 naming the
field and saying why in English and Polish; it is not a password check, so it never counts towards a lockout.
"""
import pytest

from tests.support.identity import PASSWORD, bearer, login, mail_tokens, sign_up

pytestmark = pytest.mark.e2e

# (the new password, what the refusal names). `{local}` is the person's own address before the @.
GUESSABLE = [
    ("123456789012", "most common"),
    ("aaaaaaaaaaaa", "repeated characters"),
    ("zaq12wsxcde3", "keyboard pattern"),
    ("haslo1234567", "most common"),
    ("Haslo123456!", "most common"),
    ("{local}2024", "your own details"),
    ("{local}1987!", "your own details"),
    ("AnnaKowalska1985", "your own details"),       # the person's full name (the helper's "Anna Kowalska")
    ("kadra2025kadra!", "the product's name"),
    ("Polska2024!!", "a common password or word"),
    ("qwertyuiop[]", "keyboard pattern"),
]


def _change(api, tokens, new_password):
    return api.post(api.url("/api/v1/auth/password/change"), headers=bearer(tokens),
                    json={"current_password": PASSWORD, "new_password": new_password})


def test_guessable_new_passwords_are_refused_with_the_reason(api):
    person = sign_up(api)
    tokens = login(api, person["email"])
    local = person["email"].split("@")[0]
    for template, why in GUESSABLE:
        password = template.format(local=local)
        response = _change(api, tokens, password)
        assert response.status_code == 422, (password, response.text)
        (error,) = response.json()["errors"]
        assert error["field"] == "new_password"
        assert why in error["message"], (password, error)
        assert error["message_pl"] and error["message_pl"] != error["message"]
    # eleven refusals, and the person is not locked out: a refusal checks no password
    assert _change(api, tokens, "mój kot lubi zielone jabłka").status_code == 204
    assert login(api, person["email"], "mój kot lubi zielone jabłka")["access_token"]


def test_a_reset_link_does_not_take_a_guessable_password(api, mailbox):
    person = sign_up(api)
    assert api.post(api.url("/api/v1/auth/password/forgot"), json={"email": person["email"]}).status_code == 202
    token = mail_tokens(mailbox.wait_for(person["email"], "set a new password", timeout=30)[-1])[0]
    local = person["email"].split("@")[0]
    for password in ("zaq12wsxcde3", f"{local}2025"):
        response = api.post(api.url("/api/v1/auth/password/reset"), json={"token": token, "new_password": password})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "new_password", response.text
    # the link is still good for a password that is hard to guess
    response = api.post(api.url("/api/v1/auth/password/reset"),
                        json={"token": token, "new_password": "stary dąb szumi nad rzeką"})
    assert response.status_code == 204, response.text
    assert login(api, person["email"], "stary dąb szumi nad rzeką")["access_token"]
