"""One sender per e-mail event across notify replicas: a claim taken before the SMTP send.

An event can reach two replicas at once: two outbox relays publish one envelope, or the broker
redelivers a message whose first copy another replica is still sending. Both read the message log
and find nothing, so the log alone cannot decide (two replicas, every event published twice: 108
of 300 sent twice without claims). Before sending, a worker takes the event's claim (the storage
kit's Lease on ``send:<event id>``, a document inserted under a unique key: one holder on any
number of replicas). A worker that finds the claim taken sends nothing now; its copy goes to the
first retry queue with its attempt count unchanged and is looked at again a second later, when the
log says ``sent`` (then it is acked as a duplicate) or the claim is free.

A claim is given back when nothing was sent (a temporary failure, a dead letter), so a retry can be
taken by any replica at once. After a send it is kept until it expires (``ttl``): the send reaches
the message log through the journal's batches a little later, and until then the claim is what
stops a second copy.

A holder that dies must not hold its claims for the whole ttl (its redelivered messages would wait
that long): each process renews its own liveness document (``alive:<process>``, kit leases
collection) every ``ALIVE_INTERVAL`` seconds, and a claim whose holder's liveness has lapsed
(``ALIVE_TTL``) is taken over at once. So a SIGKILLed replica's e-mails go out a few seconds later
from another replica (or its own restart). Before sending a taken-over event, the worker replays
the journals dead processes left in its journal folder (notify.journal) and reads the log again:
what the dead replica sent but had not logged yet is not sent twice, and a crash after the SMTP
server's 250 and before the journal write still sends that one e-mail twice at most, as before.
Replicas that do not share the journal folder (pods on different nodes with an emptyDir each) can
send again what the dead one journaled but had not logged: at most a batch of the journal, until
its own restart replays it. In one process the replays at take-over run one at a time (notify.journal);
two surviving processes sharing the folder do not wait for each other's replay: the second skips the
journal the first holds and may send again what it is writing (not seen in the tests, which run one
survivor). The sweep removes expired claims and liveness documents.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from kadra_defaults import clock
from kadra_defaults.storage import LEASES_COLLECTION, Lease, expired_leases, new_id

log = logging.getLogger(__name__)

# Longer than a send takes (SMTP timeout 10 s) plus the journal's batch to the message log.
CLAIM_TTL = 60.0
ALIVE_INTERVAL = 2.0
ALIVE_TTL = 8.0


class SendClaims:
    """Claims in notify's own database (the kit's leases collection), held in the name of one process."""

    def __init__(self, db, ttl: float = CLAIM_TTL, alive_ttl: float = ALIVE_TTL):
        self.db = db
        self.ttl = ttl
        self.alive_ttl = alive_ttl
        self.process = new_id()
        self.leases = db[LEASES_COLLECTION]

    def take(self, event_id: str) -> Lease | None:
        """The event's claim if this worker may send it now, else None (a live worker holds it)."""
        claim = Lease(self.db, f"send:{event_id}", ttl=self.ttl)
        claim.owner = f"{self.process}/{claim.owner}"
        claim.taken_over = False
        if claim.take():
            return claim
        held = self.leases.find_one({"_id": f"lease:send:{event_id}"})
        if held is None or self._alive(str(held.get("owner", "")).split("/", 1)[0]):
            return None  # given back just now (the retry looks again), or its holder is at work
        # The holder's process stopped renewing its liveness: it died. Remove its claim (by its owner,
        # never a newer holder's) and race the others for the insert.
        self.leases.delete_one({"_id": held["_id"], "owner": held["owner"]})
        try:
            self.leases.insert_one({"_id": held["_id"], "owner": claim.owner,
                                    "until": clock.now() + timedelta(seconds=self.ttl)})
        except DuplicateKeyError:
            return None
        log.info("e-mail event claim taken over from a stopped process", extra={"event_id": event_id})
        claim.taken_over = True
        return claim

    def _alive(self, process: str) -> bool:
        doc = self.leases.find_one({"_id": f"alive:{process}"})
        return doc is not None and doc.get("until") is not None and doc["until"] >= clock.now()

    def renew(self) -> None:
        """Say this process is alive for another `alive_ttl` seconds (call every ALIVE_INTERVAL)."""
        self.leases.update_one({"_id": f"alive:{self.process}"},
                               {"$set": {"until": clock.now() + timedelta(seconds=self.alive_ttl)}}, upsert=True)

    def retire(self) -> None:
        """This process stops: its claims may be taken over at once."""
        self.leases.delete_one({"_id": f"alive:{self.process}"})

    def sweep(self) -> int:
        """Remove claims and liveness documents that expired (a minute ago or more)."""
        return expired_leases(self.db)
