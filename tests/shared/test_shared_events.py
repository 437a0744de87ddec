"""The EventBridge publisher's batches: PutEvents takes at most 10 entries and 256 KiB a call."""

from __future__ import annotations

import json

from shared.contracts import ApplicantWithdrawn
from shared.events import PUT_EVENTS_MAX_BYTES, EventBridgePublisher, entry_size, put_events_chunks


def withdrawn(n: int, reason: str = "r") -> ApplicantWithdrawn:
    return ApplicantWithdrawn(season="2024", applicant_id=f"a{n}", reason=reason, version=n)


class Client:
    """put_events as the bus answers: `refuse` (applicant ids) get an ErrorCode; `down` raises."""

    def __init__(self, refuse=(), down=False):
        self.calls: list[list[dict]] = []
        self.refuse, self.down = set(refuse), down

    def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
        self.calls.append(Entries)
        if self.down:
            raise ConnectionError("bus unreachable")
        answers = [{"ErrorCode": "ThrottlingException"} if json.loads(e["Detail"])["applicant_id"] in self.refuse
                   else {"EventId": str(i)} for i, e in enumerate(Entries)]
        return {"FailedEntryCount": sum("ErrorCode" in a for a in answers), "Entries": answers}


def test_chunks_hold_at_most_10_entries_and_240_kib_in_order():
    small = [{"Source": "s", "DetailType": "t", "Detail": "{}"} for _ in range(23)]
    assert [len(c) for c in put_events_chunks(small)] == [10, 10, 3]
    big = [{"Source": "s", "DetailType": "t", "Detail": "x" * (100 * 1024), "n": n} for n in range(5)]
    chunks = put_events_chunks(big)
    assert [len(c) for c in chunks] == [2, 2, 1] and [e["n"] for c in chunks for e in c] == [0, 1, 2, 3, 4]
    assert all(sum(entry_size(e) for e in c) <= PUT_EVENTS_MAX_BYTES for c in chunks)
    assert [len(c) for c in put_events_chunks([{"Detail": "x" * (300 * 1024)}, {"Detail": "{}"}])] == [1, 1]


def test_publish_batch_reports_each_refused_entry_and_a_failed_call_for_it_and_every_later_event():
    events = [withdrawn(n) for n in range(12)]
    client = Client(refuse=["a3"])
    assert EventBridgePublisher("bus", client=client).publish_batch(events) == (
        [None] * 3 + ["ThrottlingException"] + [None] * 8)
    assert [len(c) for c in client.calls] == [10, 2]
    down = Client(down=True)
    assert EventBridgePublisher("bus", client=down).publish_batch(events) == ["ConnectionError"] * 12
    assert len(down.calls) == 1  # no further call once the bus is unreachable
