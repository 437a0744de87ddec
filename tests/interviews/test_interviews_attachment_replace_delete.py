"""I1: an event's PDF is replaced only when the new upload is completed (the applicants' link
stays meanwhile), and a program may remove it (DELETE .../attachment). In-process AWS emulator."""

from __future__ import annotations

import pytest
from test_interviews_api import LATE_DAY, P1, P2, invite, make_event, make_type
from test_interviews_digest_attachment import documents, open_season  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]

FIRST = b"%PDF-1.4\n% directions v1\n%%EOF\n"
SECOND = b"%PDF-1.4\n% directions v2, with parking\n%%EOF\n"


@pytest.fixture
def event(api, svc, open_season):  # noqa: F811
    t = make_type(api, P2, "202")
    e = make_event(api, t, LATE_DAY, token=P2, code="202")
    invite(api, "a0", [t], P2, "202")
    return e


def _path(e: str) -> str:
    return f"/programs/202/events/{e}/attachment"


def offer(api, e, filename="directions.pdf", size=64) -> dict:
    r = api.call("POST", _path(e), P2, {"filename": filename, "size": size})
    assert r.status_code == 201, r.data
    return r.data["upload"]


def put(documents, form, data):  # noqa: F811 - what the browser does with the presigned form
    documents.client.put_object(Bucket=documents.bucket, Key=form["fields"]["key"], Body=data)


def complete(api, e):
    return api.call("POST", _path(e) + "/completion", P2)


def link(api):
    seen = api.call("GET", "/applicants/a0/invitations", "applicant:sub-a0")
    assert seen.status_code == 200, seen.data
    return seen.data["invitations"][0]["events"][0]["attachment"]


def stored(documents, key) -> bool:  # noqa: F811
    return documents.inspect(key) != (None, None)


def test_i1_the_present_pdf_stays_until_a_new_upload_is_completed_then_is_replaced(api, event, documents):  # noqa: F811
    first = offer(api, event)
    put(documents, first, FIRST)
    assert complete(api, event).status_code == 200
    assert link(api)["size"] == len(FIRST)

    second = offer(api, event, "directions-v2.pdf")
    # offered, not uploaded: the applicants still get the first PDF
    assert link(api)["filename"] == "directions.pdf" and first["fields"]["key"] in link(api)["url"]
    put(documents, second, b"GIF89a not a pdf")
    assert complete(api, event).status_code == 422  # refused: the first one stays
    assert link(api)["filename"] == "directions.pdf"
    put(documents, second, SECOND)
    done = complete(api, event)
    assert done.status_code == 200, done.data
    assert (done.data["filename"], done.data["size"], done.data["status"]) == (
        "directions-v2.pdf", len(SECOND), "present")
    now = link(api)
    assert now["filename"] == "directions-v2.pdf" and second["fields"]["key"] in now["url"]
    assert documents.read(second["fields"]["key"]) == SECOND
    assert not stored(documents, first["fields"]["key"])  # the replaced PDF is deleted from storage
    again = complete(api, event)  # a retried completion answers the present PDF
    assert again.status_code == 200 and again.data["filename"] == "directions-v2.pdf"


def test_i1_a_newer_offer_replaces_an_unfinished_one(api, event, documents):  # noqa: F811
    stale = offer(api, event, "old.pdf")
    put(documents, stale, FIRST)
    fresh = offer(api, event, "new.pdf")
    assert not stored(documents, stale["fields"]["key"])  # the unfinished upload's object is dropped
    put(documents, fresh, SECOND)
    r = complete(api, event)
    assert r.status_code == 200 and r.data["filename"] == "new.pdf"
    assert link(api)["filename"] == "new.pdf"


def test_i1_completion_of_an_upload_replaced_meanwhile_is_a_409(api, svc, event, documents):  # noqa: F811
    first = offer(api, event)
    put(documents, first, FIRST)
    pending = svc.store.pending_attachment(event)
    offer(api, event, "other.pdf")  # another tab started a new upload
    assert svc.store.mark_attachment_present(event, pending.key, len(FIRST)) == (False, None)
    assert svc.store.attachment(event) is None and link(api) is None


def test_i1_delete_removes_the_pdf_and_its_object(api, event, documents):  # noqa: F811
    assert api.call("DELETE", _path(event), P2).status_code == 404  # nothing to remove
    form = offer(api, event)
    put(documents, form, FIRST)
    assert complete(api, event).status_code == 200
    assert api.call("DELETE", _path(event), P1).status_code == 403  # another program
    assert api.call("DELETE", "/programs/202/events/nope/attachment", P2).status_code == 404
    r = api.call("DELETE", _path(event), P2)
    assert r.status_code == 204, r.data
    assert link(api) is None
    assert not stored(documents, form["fields"]["key"])
    gone = api.call("DELETE", _path(event), P2)
    assert gone.status_code == 404 and gone.headers["Content-Type"].startswith("application/problem+json")
    assert complete(api, event).status_code == 404  # no upload left to complete


def test_i1_delete_also_drops_an_unfinished_upload(api, event, documents):  # noqa: F811
    present = offer(api, event)
    put(documents, present, FIRST)
    assert complete(api, event).status_code == 200
    pending = offer(api, event, "v2.pdf")
    put(documents, pending, SECOND)
    assert api.call("DELETE", _path(event), P2).status_code == 204
    assert link(api) is None
    assert not stored(documents, present["fields"]["key"]) and not stored(documents, pending["fields"]["key"])
    assert complete(api, event).status_code == 404
