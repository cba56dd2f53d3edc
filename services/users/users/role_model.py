"""What a role of the catalogue (users/roles.py) is made of: its capabilities and denials, each phrase tied to
the permissions it speaks about, and the description "Pokaż opis roli" shows, composed from those phrases in
Polish and English — so a description can only say what the role's permissions make true."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Capability", "Denial", "Role", "role"]


@dataclass(frozen=True)
class Capability:
    """Something a role description promises, tied to the permissions that make it true."""

    permissions: tuple[str, ...]
    pl: str
    en: str
    #: Roles this phrase says the role may assign, change or remove.
    manages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Denial:
    """Something a role description says the role cannot do, tied to permissions it lacks."""

    permissions: tuple[str, ...]
    pl: str
    en: str
    #: Roles this phrase says the role may not assign, change or remove.
    manages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Role:
    """One role of the catalogue: labels, permissions and its composed description."""

    id: str
    label_pl: str
    label_en: str
    permissions: frozenset[str]
    description_pl: str
    description_en: str
    capabilities: tuple[Capability, ...]
    denials: tuple[Denial, ...]
    manages: frozenset[str]
    #: The opening sentence: whom the role is for (promises nothing by itself).
    audience_pl: str = field(default="", repr=False)
    audience_en: str = field(default="", repr=False)


def _list(phrases: list[str]) -> str:
    # A colon and semicolons keep phrases that contain "i"/"and" themselves readable.
    return ": " + "; ".join(phrases)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _compose_pl(audience: str, capabilities: tuple[Capability, ...], denials: tuple[Denial, ...]) -> str:
    sentences = [audience, f"Osoba z tą rolą{_list([c.pl for c in capabilities])}."]
    sentences += [_sentence(d.pl) for d in denials]
    return " ".join(s for s in sentences if s)


def _compose_en(audience: str, capabilities: tuple[Capability, ...], denials: tuple[Denial, ...]) -> str:
    sentences = [audience, f"A person with this role{_list([c.en for c in capabilities])}."]
    sentences += [f"They {d.en}." for d in denials]
    return " ".join(s for s in sentences if s)


def role(
    id: str,
    label_pl: str,
    label_en: str,
    permissions: set[str],
    manages: set[str],
    audience_pl: str,
    audience_en: str,
    capabilities: tuple[Capability, ...],
    denials: tuple[Denial, ...] = (),
) -> Role:
    """A role with its descriptions composed from its phrases, in both languages."""
    return Role(
        id=id,
        label_pl=label_pl,
        label_en=label_en,
        permissions=frozenset(permissions),
        description_pl=_compose_pl(audience_pl, capabilities, denials),
        description_en=_compose_en(audience_en, capabilities, denials),
        capabilities=capabilities,
        denials=denials,
        manages=frozenset(manages),
        audience_pl=audience_pl,
        audience_en=audience_en,
    )
