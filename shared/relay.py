"""The outbox relay of a service, as Chalice functions (one blueprint every app registers):

- `relay_outbox`: triggered by the service table's DynamoDB stream (on AWS an event source
  mapping with a filter for new outbox items, ReportBatchItemFailures, bounded retries and an
  on-failure queue that raises an alarm; `make package` fills in the stream and the queue; on
  the local stack a poller of the same stream calls this very handler);
- `sweep_outbox`: every 5 minutes (the local stack: every few seconds), delivers what the
  stream relay could not (the bus or SES down longer than its retries).

See shared.outbox for the pattern."""

from __future__ import annotations

from collections.abc import Callable

from chalice import Blueprint, Rate

from shared.adapters.outbox import Outbox
from shared.settings import Settings

RELAY_BATCH_SIZE = 100
RELAY_MAX_RETRIES = 10  # then the batch's pointer goes to the relay's failure queue; the sweep delivers it


def relay_blueprint(service: str, outbox: Callable[[], Outbox]) -> Blueprint:
    bp = Blueprint(f"{service}.relay")

    @bp.on_dynamodb_record(stream_arn=Settings.from_env().table_stream_arn(service), batch_size=RELAY_BATCH_SIZE,
                           starting_position="TRIM_HORIZON", name="relay_outbox")
    def relay_outbox(event):
        return outbox().relay(event.to_dict().get("Records", []))

    @bp.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_outbox")
    def sweep_outbox(event):
        return {"delivered": outbox().sweep()}

    return bp
