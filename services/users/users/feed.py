"""Tell every gateway worker that a membership (or a company's name) changed: the fanout exchange
`kadra.gateway.feed`.

Messages are `{"kind": "membership", "data": {"company_id", "account_id"}}` (gateway/gateway/feed.py
reads them); published with a publisher confirm, so when a users RPC that changed a membership
returns, the broker already holds the message for every gateway worker's queue.
"""
import logging

from kombu import Exchange
from nameko.messaging import Publisher

log = logging.getLogger(__name__)

EXCHANGE = Exchange("kadra.gateway.feed", type="fanout", durable=True)
MEMBERSHIP = "membership"


class GatewayFeed(Publisher):
    """`self.feed.membership_changed(company_id, account_id)` from a worker."""

    def __init__(self):
        super().__init__(exchange=EXCHANGE, use_confirms=True)

    def get_dependency(self, worker_ctx):
        publish = super().get_dependency(worker_ctx)
        return _FeedHandle(publish)


class _FeedHandle:
    def __init__(self, publish):
        self._publish = publish

    def membership_changed(self, company_id: str, account_id: str | None = None) -> bool:
        """Publish the change; False (logged) when the broker refused it — the gateway then resyncs on reconnect."""
        data = {"company_id": company_id}
        if account_id:
            data["account_id"] = account_id
        try:
            self._publish({"kind": MEMBERSHIP, "data": data}, routing_key="", retry=True,
                          retry_policy={"max_retries": 2, "interval_start": 0.05, "interval_step": 0.1})
            return True
        except Exception:
            log.exception("membership change not published to the gateway feed", extra=data)
            return False
