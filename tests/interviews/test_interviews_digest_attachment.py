"""I5's daily digest to programs and I1's optional PDF of an event, on the in-process AWS
emulator: the digest lists the previous UTC day's bookings, rebookings and cancellations (times
in the program's zone), a quiet program gets nothing, a second run sends nothing twice; the PDF
goes through a presigned POST, is checked by its bytes and size, and applicants get a link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from interviews_kit import AFTER_INVITATIONS, deliver_outbox, feed
from test_interviews_api import LATE_DAY, P1, P2, book, invite, make_event, make_type

from shared.contracts import ProgramUpdated

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]
EMAIL_101, EMAIL_202 = "director101@program.caspr", "director202@program.caspr"


@pytest.fixture
def open_season(season, svc, clock):
    clock.set(AFTER_INVITATIONS)
    for code, crip, email in (("101", True, EMAIL_101), ("202", False, EMAIL_202)):
        feed(svc, ProgramUpdated(season="2024", program_code=code, name=f"Program {code}", coth=True, crip=crip,
                                 tracks=[], contact_email=email, version=2))
    return season


def digests(svc):
    from interviews import handlers

    n = handlers.send_digests(svc)
    deliver_outbox()
    return n


def test_i5_daily_digest_lists_yesterdays_changes_once_and_nothing_for_a_quiet_program(api, svc, clock,
                                                                                      open_season):
    assert svc.store.program("101").email == EMAIL_101  # program.updated.v1's contact_email, projected
    t = make_type(api, P2, "202")
    e1 = make_event(api, t, LATE_DAY, token=P2, code="202", capacity=3)
    e2 = make_event(api, t, LATE_DAY + timedelta(hours=2), token=P2, code="202", capacity=3)
    inv0, inv1 = invite(api, "a0", [t], P2, "202"), invite(api, "a1", [t], P2, "202")
    day = clock.now().date().isoformat()
    b0 = book(api, inv0, t, e1, token="applicant:sub-a0")
    assert b0.status_code == 201, b0.data
    assert api.call("PUT", f"/bookings/{b0.data['booking_id']}", "applicant:sub-a0", {"event_id": e2}).status_code \
        == 200
    b1 = book(api, inv1, t, e1, token="applicant:sub-a1")
    assert api.call("DELETE", f"/bookings/{b1.data['booking_id']}", "applicant:sub-a1").status_code == 200
    forced = api.call("POST", f"/programs/202/events/{e1}/bookings", P2, {"applicant_id": "a1", "type_id": t})
    assert forced.status_code == 201, forced.data

    svc.platform.mailer.sent.clear()
    assert digests(svc) == 0  # the day is not over: nothing yet
    clock.set(clock.now() + timedelta(days=1))
    assert digests(svc) == 1
    mails = [m for m in svc.platform.mailer.sent if "schedule changes" in m.subject]
    assert [m.to for m in mails] == [EMAIL_202]  # 101 was quiet: no digest
    body = mails[0].body
    assert day in mails[0].subject and "Program 202 (202)" in mails[0].subject
    assert body.count("\n- ") == 5, body  # booked, rebooked, booked, cancelled, force-scheduled
    assert "Ada L0: booked 2024-01-20T09:00:00-06:00" in body  # the program's zone (America/Chicago)
    assert "Ada L0: rebooked to 2024-01-20T11:00:00-06:00 to 2024-01-20T11:30:00-06:00 (America/Chicago), " \
           "was 2024-01-20T09:00:00-06:00" in body
    assert "Ada L1: cancelled 2024-01-20T09:00:00-06:00" in body
    assert "Ada L1: force-scheduled by the program 2024-01-20T09:00:00-06:00" in body
    assert "(I9)" in body

    svc.cache.clear()  # a new process (another Lambda container) runs the schedule again
    assert digests(svc) == 0
    clock.set(clock.now() + timedelta(hours=5))
    assert digests(svc) == 0
    assert len([m for m in svc.platform.mailer.sent if "schedule changes" in m.subject]) == 1
    clock.set(clock.now() + timedelta(days=1))  # the day after: quiet for everyone
    assert digests(svc) == 0


def test_i5_a_program_without_contact_email_gets_no_digest_and_no_failure(api, svc, clock, season):
    clock.set(AFTER_INVITATIONS)
    t = make_type(api, P2, "202")
    e = make_event(api, t, LATE_DAY, token=P2, code="202")
    assert book(api, invite(api, "a0", [t], P2, "202"), t, e, token="applicant:sub-a0").status_code == 201
    clock.set(clock.now() + timedelta(days=1))
    assert digests(svc) == 0
    assert not [m for m in svc.platform.mailer.sent if "schedule changes" in m.subject]


# ----------------------------------------------------------------------------- I1: the event's PDF
@pytest.fixture
def documents(svc):
    import boto3

    from shared.adapters.storage import S3DocumentStorage

    boto3.client("s3").create_bucket(Bucket="caspr-test-documents")
    svc.storage = S3DocumentStorage("caspr-test-documents", svc.platform.settings.region)
    return svc.storage


def test_i1_event_pdf_presigned_upload_checked_then_applicants_get_a_download_link(api, svc, open_season,
                                                                                   documents):
    def upload(form: dict, data: bytes) -> None:  # what the browser does with the presigned form
        documents.client.put_object(Bucket=documents.bucket, Key=form["fields"]["key"], Body=data)

    t = make_type(api, P2, "202")
    e = make_event(api, t, LATE_DAY, token=P2, code="202")
    invite(api, "a0", [t], P2, "202")
    path = f"/programs/202/events/{e}/attachment"

    for bad in ({"filename": "x.pdf", "size": 6 * 1024 * 1024}, {"filename": "", "size": 10}, {"size": 10}):
        r = api.call("POST", path, P2, bad)
        assert r.status_code == 422 and r.headers["Content-Type"].startswith("application/problem+json"), r.data
    assert api.call("POST", path, P1, {"filename": "x.pdf", "size": 10}).status_code == 403  # another program
    assert api.call("POST", "/programs/202/events/nope/attachment", P2,
                    {"filename": "x.pdf", "size": 10}).status_code == 404
    none = api.call("POST", path + "/completion", P2)
    assert none.status_code == 404 and "attachment" in none.data["detail"]

    offer = api.call("POST", path, P2, {"filename": "directions.pdf", "size": 20})
    assert offer.status_code == 201, offer.data
    form = offer.data["upload"]
    assert form["method"] == "POST" and form["fields"]
    missing = api.call("POST", path + "/completion", P2)
    assert missing.status_code == 422 and missing.data["errors"][0]["message"] == "not uploaded"
    upload(form, b"GIF89a not a pdf at all")
    not_pdf = api.call("POST", path + "/completion", P2)
    assert not_pdf.status_code == 422 and "not a PDF" in not_pdf.data["detail"] and not_pdf.data["rule"] == "I1"
    seen = api.call("GET", "/applicants/a0/invitations", "applicant:sub-a0").data
    assert seen["invitations"][0]["events"][0]["attachment"] is None  # not present yet

    offer = api.call("POST", path, P2, {"filename": "directions.pdf", "size": 20})
    pdf = b"%PDF-1.4\n% directions\n%%EOF\n"
    upload(offer.data["upload"], pdf)
    done = api.call("POST", path + "/completion", P2)
    assert done.status_code == 200, done.data
    assert done.data == {"event_id": e, "filename": "directions.pdf", "size": len(pdf), "status": "present"}

    seen = api.call("GET", "/applicants/a0/invitations", "applicant:sub-a0").data
    link = seen["invitations"][0]["events"][0]["attachment"]
    assert link["filename"] == "directions.pdf" and link["size"] == len(pdf)
    assert offer.data["upload"]["fields"]["key"] in link["url"] and "Expires" in link["url"]
    assert documents.read(offer.data["upload"]["fields"]["key"]) == pdf


def test_i1_event_pdf_over_5_mb_is_refused_at_completion():
    from interviews.domain import check_pdf
    from shared.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        check_pdf(b"%PDF-", 5 * 1024 * 1024 + 1)
    assert exc.value.rule == "I1" and "5 MB" in str(exc.value)
    check_pdf(b"%PDF-", 5 * 1024 * 1024)


def test_i5_change_day_is_the_utc_date():
    from interviews.domain import change_day, digest_days

    assert change_day(datetime(2024, 1, 20, 23, 30, tzinfo=UTC)) == "2024-01-20"
    assert digest_days(datetime(2024, 1, 21, 0, 30, tzinfo=UTC)) == ["2024-01-18", "2024-01-19", "2024-01-20"]
