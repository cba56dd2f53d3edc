"""Arguments of notify's RPC."""
from marshmallow import Schema, fields, validate


class DeliveryStatusSchema(Schema):
    event_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                            validate=validate.Length(max=500))
