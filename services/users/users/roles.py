"""The role catalogue: roles, permissions and role descriptions, kept as data.

This module is the one place that says what each role may do. The
descriptions shown in "Pokaż opis roli" are composed from capability and
denial phrases, each tied to the permissions it speaks about, so the tests
can check that a description never promises what the role cannot do and
never leaves out something important it can do.

Decisions behind the matrix (a small Polish company):

- ``owner`` (właściciel / prezes) has every permission. There is exactly one
  owner per company; ownership moves only by a transfer the new owner
  accepts, so nobody, the owner included, assigns, changes or removes the
  ``owner`` role directly.
- ``manager`` (zarząd / pełnomocnik / księgowy) has everything except
  ``ownership.transfer``. An accountant must be able to keep the books and
  payments, and a proxy acts for the company, so they also get company
  settings, user management (every member but the owner) and the audit log.
- ``employee`` (pracownik) does day-to-day invoicing: invoices, contractors
  and products (read/write), a read-only look at stock and at reports.
  ``reports.read`` covers sales and stock summaries only; financial
  statements (P&L, taxes) belong to ``accounting.read``, which the employee
  does not have. No accounting, no payments, no company settings, no user
  list and no user management.
- ``warehouse`` (magazynier) keeps warehouse documents (read/write) and the
  product list (read/write: receiving goods often means adding a new item),
  reads contractors (a goods-received or goods-issued document names the
  supplier or recipient) and the company's data. Nothing financial:
  no invoices, reports, accounting or payments.
- ``audit.read`` (the log of access changes) is for owner and manager only.
"""

from __future__ import annotations

from users.role_model import Capability, Denial, Role, role as _role

__all__ = [
    "ASSIGNABLE_ROLES",
    "Capability",
    "Denial",
    "PERMISSIONS",
    "PERMISSION_DESCRIPTIONS",
    "ROLES",
    "Role",
    "can_manage",
    "catalogue",
    "has_permission",
    "label",
]

#: Every permission, with a short Polish and English description of its scope.
PERMISSION_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "invoices.read": ("przeglądanie faktur", "view invoices"),
    "invoices.write": ("wystawianie i edycja faktur", "issue and edit invoices"),
    "contractors.read": ("przeglądanie kontrahentów", "view contractors"),
    "contractors.write": ("dodawanie i edycja kontrahentów", "add and edit contractors"),
    "products.read": ("przeglądanie produktów i usług", "view products and services"),
    "products.write": ("dodawanie i edycja produktów i usług", "add and edit products and services"),
    "warehouse.read": ("przeglądanie dokumentów i stanów magazynowych", "view warehouse documents and stock"),
    "warehouse.write": ("wystawianie dokumentów magazynowych", "issue warehouse documents"),
    "accounting.read": ("przeglądanie księgowości i sprawozdań finansowych", "view accounting and financial statements"),
    "accounting.write": ("prowadzenie księgowości", "keep the accounts"),
    "payments.read": ("przeglądanie płatności i rozrachunków", "view payments and settlements"),
    "payments.write": ("zlecanie i rozliczanie płatności", "make and settle payments"),
    "reports.read": ("zestawienia sprzedaży i magazynu", "sales and stock reports"),
    "company.read": ("podgląd danych firmy", "view the company's data"),
    "company.settings": ("zmiana danych i ustawień firmy", "change the company's data and settings"),
    "users.read": ("podgląd listy użytkowników", "view the list of users"),
    "users.manage": ("dodawanie i usuwanie użytkowników, zmiana ról", "add and remove users, change roles"),
    "ownership.transfer": ("przekazanie własności firmy", "transfer the company's ownership"),
    "audit.read": ("podgląd dziennika zmian dostępu", "view the log of access changes"),
}

PERMISSIONS: frozenset[str] = frozenset(PERMISSION_DESCRIPTIONS)

#: The roles offered in the "add user" dialog, in the guide's order.
ASSIGNABLE_ROLES: tuple[str, ...] = ("employee", "manager", "warehouse")


_MEMBERS = {"manager", "employee", "warehouse"}
_DAY_TO_DAY = {
    "invoices.read", "invoices.write",
    "contractors.read", "contractors.write",
    "products.read", "products.write",
    "warehouse.read", "warehouse.write",
}
_FINANCE = {"accounting.read", "accounting.write", "payments.read", "payments.write", "reports.read"}
_ADMINISTRATION = {"company.read", "company.settings", "users.read", "users.manage", "audit.read"}

_ISSUES_DOCUMENTS = Capability(
    permissions=tuple(sorted(_DAY_TO_DAY)),
    pl="wystawia faktury i dokumenty magazynowe oraz prowadzi listy kontrahentów i produktów",
    en="issues invoices and warehouse documents and keeps the contractor and product lists",
)
_KEEPS_BOOKS = Capability(
    permissions=tuple(sorted(_FINANCE)),
    pl="prowadzi księgowość i płatności oraz przegląda raporty",
    en="keeps the accounts and payments and views reports",
)
_COMPANY_SETTINGS = Capability(
    permissions=("company.read", "company.settings"),
    pl="zmienia dane i ustawienia firmy",
    en="changes the company's data and settings",
)
_MANAGES_USERS = Capability(
    permissions=("users.read", "users.manage", "audit.read"),
    pl="dodaje i usuwa użytkowników, zmienia ich role i przegląda dziennik zmian dostępu",
    en="adds and removes users, changes their roles and reviews the log of access changes",
    manages=frozenset(_MEMBERS),
)
_NO_USERS_OR_SETTINGS = Denial(
    permissions=("users.manage", "company.settings"),
    pl="nie dodaje użytkowników i nie zmienia ustawień firmy",
    en="cannot add users or change the company's settings",
    manages=frozenset({"owner", *_MEMBERS}),
)

ROLES: dict[str, Role] = {
    role.id: role
    for role in (
        _role(
            "owner",
            "właściciel / prezes",
            "owner / president",
            permissions=set(PERMISSIONS),
            manages=_MEMBERS,
            audience_pl="Rola osoby, która prowadzi firmę i odpowiada za to, kto ma dostęp do jej danych.",
            audience_en="For the person who runs the company and answers for who can reach its data.",
            capabilities=(
                _ISSUES_DOCUMENTS,
                _KEEPS_BOOKS,
                _COMPANY_SETTINGS,
                _MANAGES_USERS,
                Capability(
                    permissions=("ownership.transfer",),
                    pl="może przekazać własność firmy innemu użytkownikowi",
                    en="can hand the company over to another user",
                ),
            ),
            denials=(
                Denial(
                    permissions=(),
                    pl=(
                        "nie może sam zmienić swojej roli ani odejść z firmy — własność przechodzi"
                        " tylko przez przekazanie, które nowy właściciel musi przyjąć"
                    ),
                    en=(
                        "cannot change their own role or leave the company on their own — ownership"
                        " moves only by a transfer that the new owner accepts"
                    ),
                    manages=frozenset({"owner"}),
                ),
            ),
        ),
        _role(
            "manager",
            "zarząd / pełnomocnik / księgowy",
            "management / proxy / accountant",
            permissions=set(PERMISSIONS) - {"ownership.transfer"},
            manages=_MEMBERS,
            audience_pl="Rola dla członka zarządu, pełnomocnika lub księgowego — osoby, której powierzasz sprawy firmy.",
            audience_en="For a board member, a proxy or an accountant — someone you trust with the company's affairs.",
            capabilities=(_ISSUES_DOCUMENTS, _KEEPS_BOOKS, _COMPANY_SETTINGS, _MANAGES_USERS),
            denials=(
                Denial(
                    permissions=("ownership.transfer",),
                    pl="nie może zmienić roli właściciela, usunąć go z firmy ani przekazać własności firmy",
                    en="cannot change the owner's role, remove the owner or transfer the company's ownership",
                    manages=frozenset({"owner"}),
                ),
            ),
        ),
        _role(
            "employee",
            "pracownik",
            "employee",
            permissions={
                "invoices.read", "invoices.write",
                "contractors.read", "contractors.write",
                "products.read", "products.write",
                "warehouse.read", "reports.read", "company.read",
            },
            manages=set(),
            audience_pl="Rola dla osoby, która na co dzień wystawia faktury.",
            audience_en="For someone who issues invoices day to day.",
            capabilities=(
                Capability(
                    permissions=("invoices.read", "invoices.write"),
                    pl="wystawia i edytuje faktury",
                    en="issues and edits invoices",
                ),
                Capability(
                    permissions=("contractors.read", "contractors.write", "products.read", "products.write"),
                    pl="dopisuje i poprawia kontrahentów oraz produkty",
                    en="adds and corrects contractors and products",
                ),
                Capability(
                    permissions=("warehouse.read", "reports.read"),
                    pl="sprawdza stany magazynowe i zestawienia sprzedaży",
                    en="checks stock levels and sales reports",
                ),
            ),
            denials=(
                Denial(
                    permissions=("accounting.read", "payments.read"),
                    pl="nie ma dostępu do księgowości ani płatności",
                    en="have no access to accounting or payments",
                ),
                _NO_USERS_OR_SETTINGS,
            ),
        ),
        _role(
            "warehouse",
            "magazynier",
            "warehouse keeper",
            permissions={
                "warehouse.read", "warehouse.write",
                "products.read", "products.write",
                "contractors.read", "company.read",
            },
            manages=set(),
            audience_pl="Rola dla osoby, która prowadzi magazyn.",
            audience_en="For someone who runs the warehouse.",
            capabilities=(
                Capability(
                    permissions=("warehouse.read", "warehouse.write", "contractors.read"),
                    pl="wystawia dokumenty magazynowe (przyjęcia i wydania towaru) i sprawdza stany",
                    en="issues warehouse documents (goods received and goods issued) and checks stock levels",
                ),
                Capability(
                    permissions=("products.read", "products.write"),
                    pl="dopisuje i poprawia produkty",
                    en="adds and corrects products",
                ),
            ),
            denials=(
                Denial(
                    permissions=("invoices.read", "reports.read", "accounting.read", "payments.read"),
                    pl="nie widzi faktur, raportów, księgowości ani płatności",
                    en="cannot see invoices, reports, accounting or payments",
                ),
                _NO_USERS_OR_SETTINGS,
            ),
        ),
    )
}


def _role_or_none(role: str) -> Role | None:
    return ROLES.get(role) if isinstance(role, str) else None


def has_permission(role: str, permission: str) -> bool:
    """Whether the role grants the permission; an unknown role grants nothing."""
    found = _role_or_none(role)
    return found is not None and permission in found.permissions


def can_manage(actor_role: str, target_role: str) -> bool:
    """Whether someone in actor_role may assign, change or remove target_role."""
    found = _role_or_none(actor_role)
    return found is not None and target_role in found.manages


def _locale(locale: str | None) -> str:
    # "pl", "pl-PL", "en_GB" ...; anything not English reads Polish, the product's language.
    return "en" if (locale or "").lower()[:2] == "en" else "pl"


def label(role: str, locale: str | None = "pl") -> str:
    """The role's label as the product shows it; KeyError for an unknown role."""
    found = ROLES[role]
    return found.label_en if _locale(locale) == "en" else found.label_pl


def catalogue(locale: str | None = None) -> list[dict]:
    """The catalogue as served by GET /roles; with a locale, also `label` and `description` in it."""
    entries = []
    for role in ROLES.values():
        entry = {
            "role": role.id,
            "label_pl": role.label_pl,
            "label_en": role.label_en,
            "description_pl": role.description_pl,
            "description_en": role.description_en,
            "permissions": sorted(role.permissions),
            "assignable": role.id in ASSIGNABLE_ROLES,
            "manages": sorted(role.manages),
        }
        if locale is not None:
            english = _locale(locale) == "en"
            entry["label"] = role.label_en if english else role.label_pl
            entry["description"] = role.description_en if english else role.description_pl
        entries.append(entry)
    return entries
