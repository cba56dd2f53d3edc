"""The contracts between Kadra's processes, written once and used by both sides.

- ``events``   the envelope every event carries, and the table of every audit event and its payload;
- ``mail``     every e-mail event, its template and payload schema (``mail_payloads``: the schemas);
- ``mailbus``  the mail queues' topology;
- ``feed``     the gateway feed: the fan-out exchange services tell every gateway worker through,
               and the messages it carries;
- ``service_tokens``  the bearer tokens the product's other apps use (JWT, HS256);
- ``access_tokens``  what identity signs and every verifier checks (EdDSA, kid, iss), and the key ring;
- ``ed25519_keys``   one key as PEM, raw bytes, JWK and RFC 7638 thumbprint (the key ring's encodings);
- ``publishing``  the nameko side: ``Events`` (dispatch, always in the envelope) and ``Feed``
               (publish with confirms). The gateway never imports it (it runs no nameko).
"""
