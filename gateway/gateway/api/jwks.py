"""The published keys: `GET /.well-known/jwks.json`, what any app verifies our access tokens with.

The set is the gateway's own verifying keys (gateway.state `public_keys`, the key ring's public
folder re-read while running), so what is published is exactly what the gateway accepts. The contract
(kid, iss, aud, rotation): kadra_defaults.contracts.access_tokens.
"""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway import state

# Verifiers may cache the set this long; a new key is published at least this long before it signs
# (deploy/README.md, rotation), so a cached set always holds the key of a fresh token.
MAX_AGE = 300

blp = Blueprint("jwks", __name__, description="The public keys that verify Kadra's access tokens")


class JwkSchema(Schema):
    kty = fields.String(required=True, metadata={"example": "OKP"})
    crv = fields.String(required=True, metadata={"example": "Ed25519"})
    x = fields.String(required=True, metadata={"description": "the 32-byte public key, base64url without padding",
                                               "example": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    kid = fields.String(required=True, metadata={"description": "the `kid` in the header of the tokens it verifies",
                                                 "example": "20250601-3fa9c1d2"})
    use = fields.String(required=True, metadata={"example": "sig"})
    alg = fields.String(required=True, metadata={"example": "EdDSA"})


class JwksSchema(Schema):
    keys = fields.List(fields.Nested(JwkSchema), required=True)


@blp.route("/.well-known/jwks.json")
@blp.doc(summary="The public keys that verify access tokens (JWK Set, RFC 7517)")
@blp.response(200, JwksSchema)
def jwks():
    """Every key that verifies access tokens now (Ed25519, RFC 8037), each with its `kid`.

    An access token names its key in the header (`kid`) and carries `iss` = the service's public URL
    and `aud` = "kadra"; verify it with the key its `kid` names (EdDSA only), and refuse a token whose
    `kid` is not here. During a key rotation the set holds the old and the new key. Cache it for at
    most `Cache-Control: max-age` seconds, and fetch it again when a token names an unknown `kid`.

    Example answer: `{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKx...", "kid": "20250601-3fa9c1d2",
    "use": "sig", "alg": "EdDSA"}]}`
    """
    return state.current().public_keys.jwks(), 200, {"Cache-Control": f"public, max-age={MAX_AGE}"}
