"""The role catalogue checked against itself and against the guide.

Pure data, nothing faked: the descriptions are tested against the permission
matrix so a description never promises what the role cannot do.
"""

import pytest

from users import roles
from users.roles import ASSIGNABLE_ROLES, PERMISSIONS, ROLES

ALL_ROLES = list(ROLES.values())
ids = [role.id for role in ALL_ROLES]

# Permissions whose absence from a description would mislead the owner.
IMPORTANT = {"users.manage", "company.settings", "ownership.transfer"}


def test_roles_are_in_catalogue_order():
    assert list(ROLES) == ["owner", "manager", "employee", "warehouse"]
    assert all(key == role.id for key, role in ROLES.items())


@pytest.mark.parametrize(
    "role, label_pl, label_en",
    [
        ("owner", "właściciel / prezes", "owner / president"),
        ("manager", "zarząd / pełnomocnik / księgowy", "management / proxy / accountant"),
        ("employee", "pracownik", "employee"),
        ("warehouse", "magazynier", "warehouse keeper"),
    ],
)
def test_labels_are_exactly_the_guides(role, label_pl, label_en):
    assert ROLES[role].label_pl == label_pl
    assert ROLES[role].label_en == label_en
    assert roles.label(role, "pl") == label_pl
    assert roles.label(role, "pl-PL") == label_pl
    assert roles.label(role, "en") == label_en
    assert roles.label(role, "en_GB") == label_en


def test_label_of_unknown_role_is_a_key_error():
    with pytest.raises(KeyError):
        roles.label("admin", "pl")


def test_assignable_roles_follow_the_guides_dialog_order():
    # Dialog: pracownik, zarząd / pełnomocnik / księgowy, magazynier.
    assert ASSIGNABLE_ROLES == ("employee", "manager", "warehouse")
    assert [ROLES[r].label_pl for r in ASSIGNABLE_ROLES] == [
        "pracownik",
        "zarząd / pełnomocnik / księgowy",
        "magazynier",
    ]
    assert "owner" not in ASSIGNABLE_ROLES


def test_permissions_required_by_the_product_exist():
    required = {
        "invoices.write", "warehouse.write", "accounting.read",
        "users.manage", "company.settings", "ownership.transfer",
    }
    assert required <= PERMISSIONS


def test_permission_names_are_area_dot_action():
    for permission in PERMISSIONS:
        area, _, action = permission.partition(".")
        assert area and action and permission == permission.lower()
        assert roles.PERMISSION_DESCRIPTIONS[permission][0]
        assert roles.PERMISSION_DESCRIPTIONS[permission][1]


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_every_permission_named_is_in_the_catalogue(role):
    named = set(role.permissions)
    for phrase in (*role.capabilities, *role.denials):
        named |= set(phrase.permissions)
    assert named <= PERMISSIONS


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_every_role_named_is_a_known_role(role):
    named = set(role.manages)
    for phrase in (*role.capabilities, *role.denials):
        named |= set(phrase.manages)
    assert named <= set(ROLES)


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_description_promises_nothing_the_role_cannot_do(role):
    for capability in role.capabilities:
        assert capability.permissions, capability
        assert set(capability.permissions) <= role.permissions, capability.en
        assert capability.manages <= role.manages, capability.en


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_denials_name_only_what_the_role_lacks(role):
    for denial in role.denials:
        assert denial.permissions or denial.manages, denial
        assert not set(denial.permissions) & role.permissions, denial.en
        assert not denial.manages & role.manages, denial.en


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_description_leaves_nothing_important_out(role):
    promised = set()
    for capability in role.capabilities:
        promised |= set(capability.permissions)
    important = {p for p in role.permissions if p.endswith(".write") or p in IMPORTANT}
    assert important <= promised
    if role.manages:
        assert role.manages <= set().union(*(c.manages for c in role.capabilities))


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_a_role_that_lacks_reading_money_says_so(role):
    # Whoever cannot see accounting or payments is told so in the description.
    missing = {"accounting.read", "payments.read"} - role.permissions
    denied = set().union(set(), *(set(d.permissions) for d in role.denials))
    assert missing <= denied


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_descriptions_are_composed_of_every_phrase(role):
    assert role.description_pl.strip() and role.description_en.strip()
    for phrase in (*role.capabilities, *role.denials):
        # A phrase that opens a sentence is capitalized there.
        assert phrase.pl in role.description_pl or phrase.pl[:1].upper() + phrase.pl[1:] in role.description_pl
        assert phrase.en in role.description_en


@pytest.mark.parametrize("role", ALL_ROLES, ids=ids)
def test_descriptions_are_two_to_four_sentences(role):
    for description in (role.description_pl, role.description_en):
        sentences = [s for s in description.split(". ") if s.strip()]
        assert 2 <= len(sentences) <= 4, description
        assert description.endswith(".")


def test_owner_has_every_permission():
    assert ROLES["owner"].permissions == PERMISSIONS
    assert all(roles.has_permission("owner", p) for p in PERMISSIONS)


def test_manager_has_everything_but_ownership_transfer():
    assert ROLES["manager"].permissions == PERMISSIONS - {"ownership.transfer"}


@pytest.mark.parametrize(
    "role, permission, allowed",
    [
        ("employee", "invoices.write", True),
        ("employee", "contractors.write", True),
        ("employee", "products.write", True),
        ("employee", "warehouse.read", True),
        ("employee", "warehouse.write", False),
        ("employee", "accounting.read", False),
        ("employee", "accounting.write", False),
        ("employee", "payments.write", False),
        ("employee", "company.settings", False),
        ("employee", "users.manage", False),
        ("employee", "audit.read", False),
        ("warehouse", "warehouse.write", True),
        ("warehouse", "products.write", True),
        ("warehouse", "company.read", True),
        ("warehouse", "invoices.read", False),
        ("warehouse", "reports.read", False),
        ("warehouse", "accounting.read", False),
        ("warehouse", "payments.read", False),
        ("warehouse", "users.manage", False),
        ("manager", "audit.read", True),
        ("manager", "users.manage", True),
        ("manager", "ownership.transfer", False),
        ("admin", "invoices.read", False),
        ("owner", "no.such.permission", False),
        (None, "invoices.read", False),
    ],
)
def test_has_permission(role, permission, allowed):
    assert roles.has_permission(role, permission) is allowed


def test_audit_log_is_for_owner_and_manager_only():
    assert {r.id for r in ALL_ROLES if "audit.read" in r.permissions} == {"owner", "manager"}


def test_only_owner_and_manager_touch_money_or_settings():
    for permission in ("accounting.read", "payments.read", "company.settings", "users.manage"):
        assert {r.id for r in ALL_ROLES if permission in r.permissions} == {"owner", "manager"}


@pytest.mark.parametrize("actor", ids + ["admin"])
def test_nobody_manages_the_owner(actor):
    assert roles.can_manage(actor, "owner") is False


@pytest.mark.parametrize("actor", ["owner", "manager"])
@pytest.mark.parametrize("target", ["manager", "employee", "warehouse"])
def test_owner_and_manager_manage_every_other_member(actor, target):
    assert roles.can_manage(actor, target) is True


@pytest.mark.parametrize("actor", ["employee", "warehouse"])
@pytest.mark.parametrize("target", ids)
def test_employee_and_warehouse_manage_nobody(actor, target):
    assert roles.can_manage(actor, target) is False
    assert ROLES[actor].manages == frozenset()


def test_managing_requires_users_manage():
    for role in ALL_ROLES:
        assert bool(role.manages) == ("users.manage" in role.permissions)


def test_assignable_roles_are_exactly_what_the_owner_manages():
    assert ROLES["owner"].manages == frozenset(ASSIGNABLE_ROLES)


def test_roles_are_immutable():
    with pytest.raises(AttributeError):
        ROLES["employee"].permissions = PERMISSIONS  # type: ignore[misc]


def test_catalogue_lists_every_role_for_get_roles():
    entries = roles.catalogue()
    assert [e["role"] for e in entries] == ids
    for entry in entries:
        role = ROLES[entry["role"]]
        assert entry["label_pl"] == role.label_pl
        assert entry["label_en"] == role.label_en
        assert entry["description_pl"] == role.description_pl
        assert entry["description_en"] == role.description_en
        assert entry["permissions"] == sorted(role.permissions)
        assert "label" not in entry


@pytest.mark.parametrize("locale, field", [("pl", "label_pl"), ("en", "label_en"), ("en-US", "label_en")])
def test_catalogue_with_locale_adds_the_localized_label(locale, field):
    for entry in roles.catalogue(locale):
        assert entry["label"] == entry[field]
        assert entry["description"] == entry[field.replace("label", "description")]
