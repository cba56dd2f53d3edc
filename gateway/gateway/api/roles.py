"""The role catalogue: roles, labels, permissions and descriptions ("Pokaż opis roli")."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway import state

blp = Blueprint("roles", __name__, url_prefix="/api/v1", description="The fixed role catalogue")


class RoleSchema(Schema):
    role = fields.String(metadata={"example": "warehouse"})
    label_pl = fields.String(metadata={"example": "magazynier"})
    label_en = fields.String(metadata={"example": "warehouse keeper"})
    description_pl = fields.String()
    description_en = fields.String()
    permissions = fields.List(fields.String(), metadata={"example": ["warehouse.read", "warehouse.write"]})
    assignable = fields.Boolean(metadata={"description": "offered in the 'add user' dialog"})
    manages = fields.List(fields.String(), metadata={"description": "roles this role may assign, change, remove"})


def catalogue() -> list[dict]:
    """The catalogue, asked of the users service once per process (it is fixed data)."""
    kadra = state.current()
    if kadra.roles is None:
        kadra.roles = kadra.rpc.call("users", "list_roles")
    return kadra.roles


def known_permissions() -> set[str]:
    return {p for role in catalogue() for p in role["permissions"]}


@blp.route("/roles")
@blp.response(200, RoleSchema(many=True))
def list_roles():
    """No login needed. Every role with its Polish and English label, permissions and description.

    Example answer (shortened):
    `[{"role": "warehouse", "label_pl": "magazynier", "label_en": "warehouse keeper",
    "description_pl": "Rola dla osoby, która prowadzi magazyn. ...", "description_en": "For someone who runs
    the warehouse. ...", "permissions": ["company.read", "contractors.read", "products.read", ...],
    "assignable": true, "manages": []}, ...]`
    """
    return catalogue()
