"""The transactional outbox: how every service sends e-mail without ever losing one.

A service never publishes an e-mail event directly. It stores the event's envelope IN the same
document write that makes the e-mail necessary (one atomic single-document update, no
transaction needed), through the kit's write helpers, and a relay inside the same process
publishes it afterwards::

    from kadra_defaults.outbox import Outbox, mail_event, update_with_outbox, insert_with_outbox

    class IdentityService(HealthMixin):
        outbox = Outbox(collections=("accounts",), service="identity")

        @rpc
        def request_password_reset(self, email):
            event = mail_event("password_reset_requested", {"to": email, "token": t, ...})
            update_with_outbox(self.store.db.accounts, {"_id": account_id}, {"$set": {"reset": ...}}, event)
            self.outbox.kick()               # publish now; the relay also polls every 0.5 s
            return {"mail_event_id": event["id"]}   # notify.delivery_status([...]) shows it

**The pending index** (``outbox_index``, one small collection per service database). Each helper
first inserts an index entry ``{_id: <random>, c: <collection>, ref: <document _id>,
ids: [<envelope ids>], at: <now>}``, THEN makes the domain write (the envelopes pushed into the
document's ``outbox`` array, ``outbox_pending`` set). The relay reads only the index, then each
named document by ``_id`` alone (the one filter FerretDB serves from its primary key: it never scans
a domain collection), publishes every envelope the document holds to the mail exchange as a
persistent message with a publisher confirm, removes exactly the confirmed envelopes (``$pullAll``
of the stored sub-documents: FerretDB ignores ``$pull`` with a condition) and then deletes the index
entries whose envelopes it published. An entry whose envelopes its document does not hold is either
a write still under way (kept) or a write that failed or never happened (a crash between the two
writes; the helper itself deletes the entry of a write that matched nothing): such an entry is
deleted once older than ``GRACE`` seconds. Guarantees:

- nothing lost: every envelope written has an entry written before it, and an entry goes only once
  its envelopes were confirmed by the broker, or when the write it announced has not landed within
  the grace (five minutes; a client write times out after 10 s). At its first pass the relay also
  adopts, with one query per collection (``outbox_pending: true``, indexed on MongoDB), any document
  holding envelopes without an entry (written by an older version, or by code that bypassed the
  helpers) — during the database's first day with the index only, and never holding up publishing;
- nothing sent twice beyond what notify deduplicates by envelope id: a crash between the confirm and
  the removal republishes the envelope later, as before.

Runs as a green thread of the nameko container: pika's BlockingConnection works under eventlet's
monkey patching (eventlet deletes ``select.poll``/``epoll``, pika falls back to the green
``select.select``), so publishing yields to the other green threads while it waits for a confirm.
The same ``OutboxRelay`` runs in a plain thread outside nameko (tests, scripts).
"""
from kadra_defaults.outbox.provider import RELAY_LEASE_TTL, Outbox, OutboxHandle
from kadra_defaults.outbox.relay import (ADOPT_RETRY, ADOPT_WINDOW, ADOPTED_MARK, BATCH_DOCUMENTS, BROKER_ERRORS, GRACE,
                                         MAX_BACKOFF, POLL_INTERVAL, QUIET_AFTER, OutboxRelay, Publisher)
from kadra_defaults.outbox.writes import (INDEX, OUTBOX, PENDING, _announce, _withdraw, announce_decoy,
                                          ensure_outbox_indexes, find_one_and_update_with_outbox, insert_with_outbox,
                                          mail_event, outbox_fields, update_with_outbox, with_outbox)

__all__ = [
    "ADOPT_RETRY", "ADOPT_WINDOW", "ADOPTED_MARK", "BATCH_DOCUMENTS", "BROKER_ERRORS", "GRACE", "INDEX", "MAX_BACKOFF",
    "OUTBOX", "PENDING", "POLL_INTERVAL", "QUIET_AFTER", "RELAY_LEASE_TTL", "Outbox", "OutboxHandle", "OutboxRelay",
    "Publisher",
    "_announce", "_withdraw", "announce_decoy", "ensure_outbox_indexes", "find_one_and_update_with_outbox",
    "insert_with_outbox", "mail_event", "outbox_fields", "update_with_outbox", "with_outbox",
]
