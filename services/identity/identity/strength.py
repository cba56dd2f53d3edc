"""How guessable a password is: zxcvbn's pattern matching (PyPI `zxcvbn`, a port of Dropbox's estimator),
with a Polish dictionary, the person's own words, and an estimate that does not reward structure.

What zxcvbn finds in a password: dictionary words (common passwords, English words, names and surnames, and
here `data/polish.txt` and the person's own words), also reversed and with look-alike substitutions
(h@sl0 = haslo), keyboard walks on QWERTY — the Polish layout is QWERTY, so `zaq12wsx`, `1qaz2wsx` and
`qwertyuiop` are walks — and keypads, repeats (aaaa, abcabc), sequences (abcd, 9876), dates and years.
It then finds the cheapest way to build the password from those pieces and counts the guesses.

Two changes to its defaults, both towards how people really attack passwords:
- The pieces' guesses are multiplied without zxcvbn's extra term for the number of pieces (10,000 per piece
  after the first): with it, any word + digits + symbol has 10^8 guesses however common its parts
  ("Haslo123456!" would pass). Attack tools try exactly such word + ending rules first.
- Years up to 2039 are years (zxcvbn 4.5.0 knows 1900-2019) and the reference year is this year's.

Two of zxcvbn's matchers are replaced by bounded ones, so that no password costs more than a few ms of
the process's one event-loop thread (zxcvbn's own took 270 ms for 64 look-alike characters, measured, while
every other RPC of the process waited): the dictionary matcher looks each piece up once in one merged index instead of once per
dictionary, and only pieces as long as the longest word; the look-alike matcher maps each look-alike
character present to one letter at a time (at most 8 combinations for zxcvbn's table: 1, | -> i or l;
7 -> l or t) instead of every subset of substitutions (92 for the same 64 characters).

Polish letters are folded before matching (ł -> l, ą -> a …), as people type "haslo" for "hasło" and the
dictionaries hold the folded forms; the rest of the estimate (length, random parts) is unchanged by it.
Only the first ESTIMATED_LENGTH characters are estimated: the cost grows with the square of the length
(the worst 64 characters took 8 ms, the worst 40 take 3 ms), and more characters only add guesses, so a
strong beginning makes a strong password. (The common-password list is compared with the whole.)
"""
import datetime
import functools
import itertools
import os
import re
import unicodedata
from decimal import Decimal

from zxcvbn import matching, scoring

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
ESTIMATED_LENGTH = 40
PRODUCT_WORDS = ("kadra", "kadry")
MIN_WORD = 3  # shorter pieces of a name or address are not words of their own


def fold(text: str) -> str:
    """Polish (and other) letters without their marks, case kept: "Hasło" -> "Haslo"."""
    text = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in text if not unicodedata.combining(c))


@functools.lru_cache(maxsize=1)
def _dictionaries() -> dict:
    """zxcvbn's dictionaries plus the Polish list, and the bounded matchers, set up once per process."""
    with open(os.path.join(DATA, "polish.txt"), encoding="utf-8") as f:
        polish = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    matching.add_frequency_lists({"polish": polish})
    matching.RANKED_DICTIONARIES.pop("user_inputs", None)  # the person's words are passed per call
    index: dict[str, tuple] = {}
    for name, ranked in matching.RANKED_DICTIONARIES.items():
        for word, rank in ranked.items():
            index[word] = index.get(word, ()) + ((name, rank),)
    _INDEX.update(index)
    _INDEX_LONGEST[0] = max(map(len, index))
    # zxcvbn's module functions are looked up at each call (omnimatch, and the repeat matcher's inner
    # estimate), so replacing them here covers every use in this process.
    matching.dictionary_match = _dictionary_match
    matching.l33t_match = _l33t_match
    matching.REGEXEN["recent_year"] = re.compile(r"19\d\d|20[0-3]\d")
    scoring.REFERENCE_YEAR = datetime.date.today().year
    return dict(matching.RANKED_DICTIONARIES)


ZXCVBN_DICTIONARY_MATCH = matching.dictionary_match  # zxcvbn's own, kept for the tests that compare
_INDEX: dict[str, tuple] = {}   # word -> ((dictionary name, rank), ...)
_INDEX_LONGEST = [0]
_L33T = {}                      # look-alike character -> the letters it may stand for
for _letter, _subs in matching.L33T_TABLE.items():
    for _sub in _subs:
        _L33T.setdefault(_sub, []).append(_letter)


def _dictionary_match(password, _ranked_dictionaries=None):
    """zxcvbn's dictionary matches, each piece looked up once (the person's words apart)."""
    user = (_ranked_dictionaries or {}).get("user_inputs") or {}
    longest = max(_INDEX_LONGEST[0], max(map(len, user), default=0))
    lower, length, matches = password.lower(), len(password), []
    for i in range(length):
        for j in range(i, min(length, i + longest)):
            word = lower[i:j + 1]
            found = _INDEX.get(word, ())
            if word in user:
                found = found + (("user_inputs", user[word]),)
            for name, rank in found:
                matches.append({"pattern": "dictionary", "i": i, "j": j, "token": password[i:j + 1],
                                "matched_word": word, "rank": rank, "dictionary_name": name,
                                "reversed": False, "l33t": False})
    return matches


def _l33t_match(password, _ranked_dictionaries=None, _l33t_table=None):
    """Dictionary words written with look-alikes (h@sl0): each look-alike present stands for one letter."""
    present = sorted(c for c in set(password) if c in _L33T)
    if not present:
        return []
    matches, seen = [], set()
    for letters in itertools.product(*(_L33T[c] for c in present)):
        sub = dict(zip(present, letters))
        subbed = "".join(sub.get(c, c) for c in password)
        for match in _dictionary_match(subbed, _ranked_dictionaries):
            token = password[match["i"]:match["j"] + 1]
            key = (match["i"], match["j"], match["dictionary_name"], match["matched_word"])
            if len(token) < 2 or token.lower() == match["matched_word"] or key in seen:
                continue
            seen.add(key)
            used = {c: letter for c, letter in sub.items() if c in token}
            match.update(l33t=True, token=token, sub=used,
                         sub_display=", ".join(f"{c} -> {letter}" for c, letter in used.items()))
            matches.append(match)
    return matches


def own_words(email: str | None, inputs=()) -> dict[str, str]:
    """The person's own words, folded and lower-cased -> what they are ("email", "name", "product").

    The whole address, its local part and domain and their pieces; each input (full name, company name)
    whole, without spaces, and word by word; and the product's name.
    """
    words: dict[str, str] = {}

    def add(text, kind):
        text = fold(str(text)).lower().strip()
        if len(text) >= MIN_WORD:
            words.setdefault(text, kind)

    if isinstance(email, str) and email:
        add(email, "email")
        local, _, domain = email.rpartition("@") if "@" in email else (email, "", "")
        for part in (local, domain, domain.rsplit(".", 1)[0]):
            add(part, "email")
            for piece in re.split(r"[\W_]+", part):
                add(piece, "email")
    for text in inputs or ():
        if not isinstance(text, str):
            continue
        add(text, "name")
        add(re.sub(r"\W+", "", text), "name")
        for piece in re.split(r"[\W_]+", text):
            add(piece, "name")
    for word in PRODUCT_WORDS:
        add(word, "product")
    return words


def estimate(password: str, own: dict[str, str] | None = None) -> tuple[Decimal, list[dict]]:
    """(guesses, the pieces zxcvbn built the password from) for the first ESTIMATED_LENGTH characters."""
    text = fold(password[:ESTIMATED_LENGTH])
    dictionaries = _dictionaries()
    if own:
        dictionaries = {**dictionaries, "user_inputs": matching.build_ranked_dict(list(own))}
    matches = matching.omnimatch(text, dictionaries)
    result = scoring.most_guessable_match_sequence(text, matches, _exclude_additive=True)
    return Decimal(result["guesses"]), result["sequence"]


def shape(token: str) -> str | None:
    """"keyboard", "sequence" or "repeat" when that pattern alone makes the whole of `token` (a listed
    password such as zaq12wsx or 123456789 is also a walk or a sequence: the clearer reason to give)."""
    whole = len(token) - 1
    for name, matcher in (("sequence", matching.sequence_match), ("repeat", matching.repeat_match),
                          ("keyboard", matching.spatial_match)):  # 123456 is a walk too; "sequence" says more
        if any(m["i"] == 0 and m["j"] == whole for m in matcher(token)):
            return name
    return None
