"""The nameko side of the contracts: dispatching events and telling the gateways, one way for every service.

    class DevicesService:
        events = Events()     # self.events.dispatch("device_paired", {...}): validated, in the envelope
        feed = Feed()         # self.feed.membership_changed(company_id): published with a confirm

Both are nameko DependencyProviders; the gateway, which runs no nameko, never imports this module.
"""
from __future__ import annotations

import logging

from kombu import Exchange
from nameko.events import EventDispatcher
from nameko.messaging import Publisher

from kadra_defaults.contracts import events, feed

log = logging.getLogger(__name__)

FEED_EXCHANGE = Exchange(feed.EXCHANGE, type=feed.EXCHANGE_TYPE, durable=True)
FEED_RETRY = {"max_retries": 2, "interval_start": 0.05, "interval_step": 0.1}


class Events(EventDispatcher):
    """nameko's EventDispatcher, but every event is validated against contracts.events and enveloped."""

    def get_dependency(self, worker_ctx):
        return _Dispatch(super().get_dependency(worker_ctx))


class _Dispatch:
    def __init__(self, dispatch):
        self._dispatch = dispatch

    def dispatch(self, event_type: str, payload: dict) -> dict:
        """Send the event; returns its envelope. Raises on an unknown type or a bad payload (a bug)."""
        envelope = events.wrap(event_type, payload)
        self._dispatch(event_type, envelope)
        return envelope

    def dispatch_quietly(self, event_type: str, payload: dict) -> bool:
        """Send an event whose loss is not worth failing the request for (the change is already made)."""
        try:
            self.dispatch(event_type, payload)
            return True
        except Exception as exc:
            log.warning("event not dispatched", extra={"event": event_type, "error": type(exc).__name__})
            return False


class Feed(Publisher):
    """Publishes to the gateway feed with a publisher confirm: when the RPC that changed something
    returns, the broker already holds the message for every gateway worker's queue."""

    def __init__(self):
        super().__init__(exchange=FEED_EXCHANGE, use_confirms=True, delivery_mode=1)

    def get_dependency(self, worker_ctx):
        return _FeedHandle(super().get_dependency(worker_ctx))


class _FeedHandle:
    def __init__(self, publish):
        self._publish = publish

    def publish(self, message: dict) -> bool:
        """Publish one feed message; False (logged) when the broker refused it: gateways resync on reconnect."""
        try:
            self._publish(message, routing_key="", retry=True, retry_policy=FEED_RETRY)
            return True
        except Exception as exc:
            log.warning("gateway feed message not published", extra={
                "kind": message.get("kind"), "error": type(exc).__name__})
            return False

    def revoked(self, entries: list[dict]) -> bool:
        return self.publish(feed.revocation(entries))

    def account_changed(self, account_id: str) -> bool:
        return self.publish(feed.account_changed(account_id))

    def membership_changed(self, company_id: str, account_id: str | None = None) -> bool:
        return self.publish(feed.membership_changed(company_id, account_id))
