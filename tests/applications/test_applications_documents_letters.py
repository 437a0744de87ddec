"""Documents (A1, A7), letters of reference by email link (A1) and submission, over HTTP on moto."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from shared.contracts import ApplicationSubmitted

from .conftest import PDF, emails, events, program, put_object, registered, request_letters, season, upload


def link_token(svc, to: str) -> str:
    [mail] = [m for m in emails(svc) if m.to == to][-1:]
    url = re.search(r"(http\S+/applications/letters/respond\?token=\S+)", mail.body).group(1)
    return parse_qs(urlparse(url).query)["token"][0]


# ----------------------------------------------------------------------------- documents
def test_a1_document_upload_is_checked_pdf_by_its_bytes_and_present(api, svc):
    token = registered(svc)
    r = api.call("POST", "/applicants/a1/documents", token, {"kind": "cv", "filename": "cv.pdf", "size": 100})
    assert r.status_code == 201
    up = r.data["upload"]
    assert up["method"] == "POST" and up["url"] and up["fields"]["key"].endswith(".pdf")
    doc = r.data["document_id"]
    r = api.call("POST", f"/applicants/a1/documents/{doc}/completion", token)
    assert r.status_code == 422 and r.data["rule"] == "A1" and "nothing was uploaded" in r.data["detail"]
    put_object(svc, up["fields"]["key"], b"GIF89a not a pdf")
    r = api.call("POST", f"/applicants/a1/documents/{doc}/completion", token)
    assert r.status_code == 422 and "not a PDF" in r.data["detail"]
    put_object(svc, up["fields"]["key"], PDF)
    r = api.call("POST", f"/applicants/a1/documents/{doc}/completion", token)
    assert r.status_code == 200 and r.data["status"] == "present" and r.data["size"] == len(PDF)
    summary = api.call("GET", "/applicants/a1", token).data
    assert [d["kind"] for d in summary["documents"]] == ["cv"] and "cv" not in summary["missing"]


def test_a1_document_over_5_mb_is_refused(api, svc):
    token = registered(svc)
    r = api.call("POST", "/applicants/a1/documents", token,
                 {"kind": "cv", "filename": "cv.pdf", "size": 5 * 1024 * 1024 + 1})
    assert r.status_code == 422
    r = api.call("POST", "/applicants/a1/documents", token, {"kind": "cv", "filename": "cv.pdf", "size": 10})
    put_object(svc, r.data["upload"]["fields"]["key"], PDF + b"0" * (5 * 1024 * 1024))
    r = api.call("POST", f"/applicants/a1/documents/{r.data['document_id']}/completion", token)
    assert r.status_code == 422 and "5 MB" in r.data["detail"]


def test_a1_a7_submission_needs_ps_cv_three_letters_and_locks_the_core_documents(api, svc):
    token = registered(svc)
    r = api.call("POST", "/applicants/a1/submission", token)
    assert r.status_code == 422 and r.data["rule"] == "A1"
    assert {e["field"] for e in r.data["errors"]} == {"personal_statement", "cv", "letters"}
    assert upload(api, svc, token, "a1", "personal_statement").status_code == 200
    assert upload(api, svc, token, "a1", "cv").status_code == 200
    request_letters(api, token, "a1", 2)
    r = api.call("POST", "/applicants/a1/submission", token)
    assert r.status_code == 422 and [e["field"] for e in r.data["errors"]] == ["letters"]
    request_letters(api, token, "a1", 1, start=2)
    r = api.call("POST", "/applicants/a1/submission", token)
    assert r.status_code == 200 and r.data["status"] == "submitted"
    assert [e.applicant_id for e in events(svc, ApplicationSubmitted)] == ["a1"]
    assert {d["kind"]: d["locked"] for d in r.data["documents"]} == {"personal_statement": True, "cv": True}
    # A7: core documents locked; supplemental still added
    r = api.call("POST", "/applicants/a1/documents", token, {"kind": "cv", "filename": "cv2.pdf", "size": 10})
    assert r.status_code == 422 and r.data["rule"] == "A7"
    ps = next(d for d in api.call("GET", "/applicants/a1", token).data["documents"] if d["kind"] == "personal_statement")
    assert api.call("DELETE", f"/applicants/a1/documents/{ps['document_id']}", token).status_code == 422
    assert upload(api, svc, token, "a1", "supplemental").status_code == 200
    assert api.call("POST", "/applicants/a1/submission", token).status_code == 409


def test_a1_documents_are_the_applicants_own(api, svc):
    registered(svc)
    other = registered(svc, "a2", "u2")
    r = api.call("POST", "/applicants/a1/documents", other, {"kind": "cv", "filename": "cv.pdf", "size": 10})
    assert r.status_code == 403
    assert api.call("GET", "/applicants/nobody", other).status_code == 404
    assert api.call("GET", "/applicants/a1", "program:p:101").status_code == 403


# ----------------------------------------------------------------------------- letters
def test_a1_three_to_six_letters_a_seventh_is_refused_naming_a1(api, svc):
    token = registered(svc)
    request_letters(api, token, "a1", 6)
    r = api.call("POST", "/applicants/a1/letters", token,
                 {"writer_name": "Dr Seven", "writer_email": "w7@example.org", "label": "x", "waived": False})
    assert r.status_code == 422 and r.data["rule"] == "A1" and "6" in r.data["detail"]


def test_a1_writer_accepts_uploads_by_the_email_link_and_the_applicant_sees_only_the_status(api, svc):
    token = registered(svc)
    [letter_id] = request_letters(api, token, "a1", 1)
    link = link_token(svc, "w0@example.org")
    mail = emails(svc)[-1]
    assert "Ada Lovelace" in mail.body and "waived the right" in mail.body
    page = api.call("GET", f"/letters/respond?token={link}")
    assert page.status_code == 200 and "<html" in page.data and "text/html" in page.headers["Content-Type"]
    r = api.call("GET", f"/letters/{letter_id}/response?token={link}")
    assert r.status_code == 200 and r.data["applicant_name"] == "Ada Lovelace" and r.data["status"] == "requested"
    assert r.data["waived"] is True
    # an upload before accepting is refused
    assert api.call("POST", f"/letters/{letter_id}/upload?token={link}").status_code == 422
    r = api.call("POST", f"/letters/{letter_id}/response?token={link}", body={"accept": True})
    assert r.status_code == 200 and r.data["status"] == "accepted"
    r = api.call("POST", f"/letters/{letter_id}/upload?token={link}")
    assert r.status_code == 200
    key = r.data["upload"]["fields"]["key"]
    r = api.call("POST", f"/letters/{letter_id}/completion?token={link}")
    assert r.status_code == 422  # nothing uploaded yet
    put_object(svc, key, PDF)
    r = api.call("POST", f"/letters/{letter_id}/completion?token={link}")
    assert r.status_code == 200 and r.data["status"] == "received"
    seen = api.call("GET", "/applicants/a1", token).data["letters"]
    assert [x["status"] for x in seen] == ["received"]
    assert not {"file_id", "upload_id", "size", "download_url", "url"} & set(seen[0])  # never the content


def test_a1_writer_declines(api, svc):
    token = registered(svc)
    [letter_id] = request_letters(api, token, "a1", 1)
    link = link_token(svc, "w0@example.org")
    r = api.call("POST", f"/letters/{letter_id}/response?token={link}", body={"accept": False})
    assert r.status_code == 200 and r.data["status"] == "declined"
    assert api.call("POST", f"/letters/{letter_id}/upload?token={link}").status_code == 409


def test_a1_a_writers_link_is_scoped_to_its_letter_signed_and_expiring(api, svc, clock):
    token = registered(svc)
    first, second = request_letters(api, token, "a1", 2)
    link = link_token(svc, "w0@example.org")
    r = api.call("POST", f"/letters/{second}/response?token={link}", body={"accept": True})
    assert r.status_code == 403  # another letter
    tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    assert api.call("GET", f"/letters/{first}/response?token={tampered}").status_code == 401
    assert api.call("GET", f"/letters/{first}/response").status_code == 422  # no token
    clock.set(clock.now() + timedelta(days=121))
    r = api.call("GET", f"/letters/{first}/response?token={link}")
    assert r.status_code == 401 and "expired" in r.data["detail"]


def test_a1_delete_a_request_only_while_requested(api, svc):
    token = registered(svc)
    first, second = request_letters(api, token, "a1", 2)
    link = link_token(svc, "w1@example.org")
    api.call("POST", f"/letters/{second}/response?token={link}", body={"accept": True})
    assert api.call("DELETE", f"/applicants/a1/letters/{second}", token).status_code == 422
    assert api.call("DELETE", f"/applicants/a1/letters/{first}", token).status_code == 204
    assert [x["letter_id"] for x in api.call("GET", "/applicants/a1", token).data["letters"]] == [second]
    first_link = link_token(svc, "w0@example.org")
    assert api.call("GET", f"/letters/{first}/response?token={first_link}").status_code == 404


def test_a1_reminder_at_most_once_a_day(api, svc, clock):
    token = registered(svc)
    [letter_id] = request_letters(api, token, "a1", 1)
    sent = len(emails(svc))
    r = api.call("POST", f"/applicants/a1/letters/{letter_id}/reminder", token)
    assert r.status_code == 429 and r.data["rule"] == "A1"
    clock.set(clock.now() + timedelta(days=1))
    r = api.call("POST", f"/applicants/a1/letters/{letter_id}/reminder", token)
    assert r.status_code == 200 and r.data["reminded_at"]
    assert len(emails(svc)) == sent + 1 and emails(svc)[-1].subject.startswith("Reminder")
    assert api.call("POST", f"/applicants/a1/letters/{letter_id}/reminder", token).status_code == 429


def test_a1_letter_cannot_be_replaced_after_the_first_delivery(api, svc, clock):
    from .conftest import CALENDAR, deadline, submitted

    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    letter_id = api.call("GET", "/applicants/a1", token).data["letters"][0]["letter_id"]
    link = link_token(svc, "w0@example.org")
    api.call("POST", f"/letters/{letter_id}/response?token={link}", body={"accept": True})
    put_object(svc, api.call("POST", f"/letters/{letter_id}/upload?token={link}").data["upload"]["fields"]["key"], PDF)
    assert api.call("POST", f"/letters/{letter_id}/completion?token={link}").status_code == 200
    assert api.call("POST", f"/letters/{letter_id}/upload?token={link}").status_code == 200  # replace: still
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}).status_code == 201
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    r = api.call("POST", f"/letters/{letter_id}/upload?token={link}")
    assert r.status_code == 422 and "delivered" in r.data["detail"]


def _exists(svc, key: str) -> bool:
    return svc.storage.inspect(key) != (None, None)


def test_a7_a_replaced_or_deleted_document_or_letter_leaves_no_pdf_behind(api, svc):
    """The PDF a committed change no longer refers to is deleted from S3 after the commit."""
    token = registered(svc)
    r = upload(api, svc, token, "a1", "supplemental")
    assert r.status_code == 200
    doc_id = r.data["document_id"]
    key = f"documents/{doc_id}.pdf"
    assert _exists(svc, key)
    assert api.call("DELETE", f"/applicants/a1/documents/{doc_id}", token).status_code == 204
    assert not _exists(svc, key)
    # a new CV replaces the one before it: the old PDF goes
    first = upload(api, svc, token, "a1", "cv").data["document_id"]
    upload(api, svc, token, "a1", "cv")
    assert not _exists(svc, f"documents/{first}.pdf")
    # the writer replaces the letter (before any delivery): the first PDF goes
    [letter_id] = request_letters(api, token, "a1", 1)
    link = link_token(svc, "w0@example.org")
    api.call("POST", f"/letters/{letter_id}/response?token={link}", body={"accept": True})
    keys = []
    for _ in range(2):
        k = api.call("POST", f"/letters/{letter_id}/upload?token={link}").data["upload"]["fields"]["key"]
        put_object(svc, k, PDF)
        assert api.call("POST", f"/letters/{letter_id}/completion?token={link}").status_code == 200
        keys.append(k)
    assert not _exists(svc, keys[0]) and _exists(svc, keys[1])
