"""The notify service: e-mail from events: templates, SMTP, retries, dead letters and the message log."""
from marshmallow import ValidationError
from nameko.rpc import rpc
from nameko.timer import timer

from kadra_defaults.errors import field_error
from kadra_defaults.health import HealthMixin
from kadra_defaults.providers import RequestId

from notify.claims import SendClaims
from notify.consumer import MailConsumer
from notify.exceptions import InvalidInput
from notify.schemas import DeliveryStatusSchema
from notify.storage import notify_store


class NotifyService(HealthMixin):
    """RPC entry points of notify; the mail consumer runs beside them in the same process."""

    name = "notify"

    store = notify_store()
    request_id = RequestId()
    mail = MailConsumer()

    @rpc(expected_exceptions=(InvalidInput,))
    def delivery_status(self, event_ids):
        """{event_id: {status: queued|sent|retrying|failed, attempts, last_error, sent_at}} for e-mail events.

        `queued` also covers an id notify has not seen yet (still in the sender's outbox or the queue).
        """
        try:
            args = DeliveryStatusSchema().load({"event_ids": event_ids})
        except ValidationError as exc:
            raise InvalidInput("event_ids must be a list of at most 500 event ids",
                               "event_ids musi być listą co najwyżej 500 identyfikatorów zdarzeń",
                               errors=[field_error("event_ids", str(exc.messages.get("event_ids")),
                                                   "Nieprawidłowa lista identyfikatorów zdarzeń.")]) from None
        return self.store.statuses(args["event_ids"])

    @timer(interval=300)
    def sweep(self):
        """Forget expired send claims (notify.claims) and e-mail log entries past KADRA_MAIL_LOG_RETENTION_DAYS
        (due buckets: no scan)."""
        SendClaims(self.store.db).sweep()
        self.store.sweep()
