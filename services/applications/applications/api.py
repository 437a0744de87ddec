"""HTTP routes of the applications service (base path /applications): parse, call a use
case, serialize. Nothing else."""

from __future__ import annotations

import re

from chalice import Response

from applications import bootstrap, handlers
from applications.domain.application import CORE_KINDS, SUBMITTED, Application, Document, Letter
from applications.domain.designations import ApplicantFacts, Designation
from applications.pages import letter_writer_page
from applications.schemas import (
    ApplicationOut,
    CollegeDocumentIn,
    CollegeRecordIn,
    CollegeRecordOut,
    DesignationIn,
    DesignationList,
    DesignationOut,
    DocumentIn,
    DocumentOut,
    DocumentUploadOut,
    Health,
    LetterIn,
    LetterOut,
    LetterResponseIn,
    PacketOut,
    PacketQuery,
    ReviewedApplication,
    ReviewList,
    ReviewPatch,
    ReviewQuery,
    StudentList,
    StudentsQuery,
    TokenQuery,
    Upload,
    WriterLetterOut,
    WriterUploadOut,
)
from shared import health
from shared.errors import FieldError, ValidationFailed
from shared.web import PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="applications", verifier=lambda: bootstrap.container().platform.verifier)
APPLICANT = ("applicant",)
PROGRAM = ("program",)
PATH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


def svc() -> bootstrap.Applications:
    return bootstrap.container()


def _ids(**ids: str) -> None:
    bad = [FieldError(k, "1-64 letters, digits, '-' or '_'") for k, v in ids.items() if not PATH_ID.match(v or "")]
    if bad:
        raise ValidationFailed("the path has an invalid id", errors=bad)


def _no_content() -> Response:
    return Response(body="", status_code=204)


def document_out(d: Document, app: Application) -> DocumentOut:
    return DocumentOut(document_id=d.document_id, kind=d.kind, filename=d.filename, size=d.size, status=d.status,
                       created_at=d.created_at, completed_at=d.completed_at,
                       locked=app.status == SUBMITTED and d.kind in CORE_KINDS)


def letter_out(x: Letter) -> LetterOut:
    return LetterOut(letter_id=x.letter_id, writer_name=x.writer_name, writer_email=x.writer_email, label=x.label,
                     waived=x.waived, status=x.status, requested_at=x.requested_at, responded_at=x.responded_at,
                     received_at=x.received_at, reminded_at=x.reminded_at)


def designation_out(d: Designation, deadline, credits_left: int | None = None) -> DesignationOut:
    """`deadline`: the program's (A4), as the use case read it (handlers.deadlines_of)."""
    return DesignationOut(program_code=d.program_code, round=d.round, designated_at=d.designated_at,
                          delivered_at=d.delivered_at, deadline=deadline, credits_left=credits_left)


def application_out(facts: ApplicantFacts, app: Application, designations: list[Designation],
                    missing: list[str], record=None, deadlines: dict | None = None) -> ApplicationOut:
    deadlines = deadlines or {}
    return ApplicationOut(
        applicant_id=facts.applicant_id, season=facts.season, status=app.status, submitted_at=app.submitted_at,
        documents=[document_out(d, app) for d in app.documents], letters=[letter_out(x) for x in app.letters],
        college_record=handlers.record_out(svc(), record),
        designations=[designation_out(d, deadlines.get((d.season, d.program_code))) for d in designations],
        credits_left=facts.credits_left, credits_total=facts.credits_total, may_apply=facts.may_apply,
        complete=not missing, missing=missing)


@bp.endpoint("/health", "GET", summary="Health of the applications service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("applications", bootstrap.container().platform.settings)


# ----------------------------------------------------------------------------- the application
@bp.endpoint("/applicants/{applicant_id}", "GET", summary="An applicant's application: documents, letters' "
             "statuses (never their content), designations, credits left, what is missing (A1, A5)",
             response=ApplicationOut, roles=APPLICANT, errors=(401, 403, 404, 422))
def get_application(applicant_id: str, principal):
    _ids(applicant_id=applicant_id)
    return _summary_out(handlers.summary(svc(), principal, applicant_id))


def _summary_out(s: dict) -> ApplicationOut:
    return application_out(s["facts"], s["application"], s["designations"], s["missing"], s["college_record"],
                           s["deadlines"])


@bp.endpoint("/applicants/{applicant_id}/documents", "POST", summary="Offer an upload of a PDF (personal "
             "statement, CV, supplemental; A1, A7): the browser POSTs it to the presigned form returned, then "
             "asks for its completion", body=DocumentIn, response=DocumentUploadOut, status=201, roles=APPLICANT,
             errors=(401, 403, 404, 409, 422))
def post_document(applicant_id: str, body: DocumentIn, principal):
    _ids(applicant_id=applicant_id)
    document_id, upload = handlers.offer_document(svc(), principal, applicant_id, body.kind, body.filename, body.size)
    return DocumentUploadOut(document_id=document_id, upload=Upload(**upload))


@bp.endpoint("/applicants/{applicant_id}/documents/{document_id}/completion", "POST", summary="Check an "
             "uploaded document (exists, a PDF by its bytes, at most 5 MB) and mark it present (A1)",
             response=DocumentOut, roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def post_document_completion(applicant_id: str, document_id: str, principal):
    _ids(applicant_id=applicant_id, document_id=document_id)
    doc, app = handlers.complete_document(svc(), principal, applicant_id, document_id)
    return document_out(doc, app)


@bp.endpoint("/applicants/{applicant_id}/documents/{document_id}", "DELETE", summary="Remove a document "
             "(not a core document once submitted: A7)", roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def delete_document(applicant_id: str, document_id: str, principal):
    _ids(applicant_id=applicant_id, document_id=document_id)
    handlers.delete_document(svc(), principal, applicant_id, document_id)
    return _no_content()


@bp.endpoint("/applicants/{applicant_id}/submission", "POST", summary="Submit the application: needs a "
             "personal statement, a CV and at least 3 letter requests (A1); locks the personal statement and CV "
             "(A7)", response=ApplicationOut, roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def post_submission(applicant_id: str, principal):
    _ids(applicant_id=applicant_id)
    read, app = handlers.submit_read(svc(), principal, applicant_id)
    return _summary_out(handlers.summary(svc(), principal, applicant_id, read=read, app=app))


# ----------------------------------------------------------------------------- letters (A1)
@bp.endpoint("/applicants/{applicant_id}/letters", "POST", summary="Request a letter of reference (3 to 6, "
             "A1): the writer is emailed a link to accept or decline and upload the letter", body=LetterIn,
             response=LetterOut, status=201, roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def post_letter(applicant_id: str, body: LetterIn, principal):
    _ids(applicant_id=applicant_id)
    return letter_out(handlers.request_letter(svc(), principal, applicant_id, **body.model_dump()))


@bp.endpoint("/applicants/{applicant_id}/letters/{letter_id}", "DELETE", summary="Delete a letter request "
             "still 'requested' (A1)", roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def delete_letter(applicant_id: str, letter_id: str, principal):
    _ids(applicant_id=applicant_id, letter_id=letter_id)
    handlers.delete_letter(svc(), principal, applicant_id, letter_id)
    return _no_content()


@bp.endpoint("/applicants/{applicant_id}/letters/{letter_id}/reminder", "POST", summary="Email the writer the "
             "link again (at most once a day; A1)", response=LetterOut, roles=APPLICANT,
             errors=(401, 403, 404, 409, 422, 429))
def post_letter_reminder(applicant_id: str, letter_id: str, principal):
    _ids(applicant_id=applicant_id, letter_id=letter_id)
    return letter_out(handlers.remind_letter(svc(), principal, applicant_id, letter_id))


@bp.endpoint("/letters/respond", "GET", summary="The letter writer's page (from the email link; no account)",
             roles=PUBLIC)
def get_writer_page():
    return Response(body=letter_writer_page(), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer",
                             "Cache-Control": "no-store"})


@bp.endpoint("/letters/{letter_id}/response", "GET", summary="The letter request a writer's link is for, and "
             "its status (A1)",
             query=TokenQuery, response=WriterLetterOut, roles=PUBLIC, errors=(401, 403, 404, 422))
def get_writer_letter(letter_id: str, query: TokenQuery):
    _ids(letter_id=letter_id)
    return _writer_out(handlers.writer_view(svc(), query.token, letter_id))


def _writer_out(v: dict) -> WriterLetterOut:
    x = v["letter"]
    return WriterLetterOut(letter_id=x.letter_id, applicant_name=v["applicant_name"], label=x.label,
                           waived=x.waived, status=x.status, replaceable=v["replaceable"])


@bp.endpoint("/letters/{letter_id}/response", "POST", summary="The writer accepts or declines (A1)",
             query=TokenQuery, body=LetterResponseIn, response=WriterLetterOut, roles=PUBLIC,
             errors=(401, 403, 404, 409, 422))
def post_writer_response(letter_id: str, query: TokenQuery, body: LetterResponseIn):
    _ids(letter_id=letter_id)
    return _writer_out(handlers.writer_respond(svc(), query.token, letter_id, body.accept))


@bp.endpoint("/letters/{letter_id}/upload", "POST", summary="A presigned form for the writer's PDF letter (A1)",
             query=TokenQuery, response=WriterUploadOut, roles=PUBLIC, errors=(401, 403, 404, 409, 422))
def post_writer_upload(letter_id: str, query: TokenQuery):
    _ids(letter_id=letter_id)
    return WriterUploadOut(upload=Upload(**handlers.writer_upload(svc(), query.token, letter_id)))


@bp.endpoint("/letters/{letter_id}/completion", "POST", summary="Check the uploaded letter (a PDF, at most 5 MB) "
             "and mark it received (A1)", query=TokenQuery, response=WriterLetterOut, roles=PUBLIC,
             errors=(401, 403, 404, 409, 422))
def post_writer_completion(letter_id: str, query: TokenQuery):
    _ids(letter_id=letter_id)
    return _writer_out(handlers.writer_complete(svc(), query.token, letter_id))


# ----------------------------------------------------------------------------- designations (A3-A5, M7)
@bp.endpoint("/applicants/{applicant_id}/designations", "POST", summary="Designate a program: one credit (A5, "
             "R4); refused before submission (A1), without a Part I pass (A3), after the program's deadline (A4), "
             "with no credit left (A5), when withdrawn (R7), twice (409); an optional Idempotency-Key makes a "
             "retry answer the designation it made", body=DesignationIn,
             response=DesignationOut, status=201, roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def post_designation(applicant_id: str, body: DesignationIn, principal, idempotency_key: str | None):
    _ids(applicant_id=applicant_id)
    d, left, deadline = handlers.designate_out(svc(), principal, applicant_id, body.program_code, idempotency_key)
    return designation_out(d, deadline, left)


@bp.endpoint("/applicants/{applicant_id}/designations", "GET", summary="The programs designated, each with its "
             "deadline and delivery (A4, A5), and the credits left", response=DesignationList, roles=APPLICANT,
             errors=(401, 403, 404, 422))
def list_designations(applicant_id: str, principal):
    _ids(applicant_id=applicant_id)
    facts, found, deadlines = handlers.designations(svc(), principal, applicant_id)
    return DesignationList(applicant_id=applicant_id, credits_left=facts.credits_left,
                           credits_total=facts.credits_total,
                           designations=[designation_out(d, deadlines.get((d.season, d.program_code))) for d in found])


# ----------------------------------------------------------------------------- the review desk (A6)
def _program_code(code: str) -> None:
    if not re.fullmatch(r"[0-9]{3}", code or ""):
        raise ValidationFailed("the path has an invalid program code", errors=[FieldError("code", "3 digits")])


@bp.endpoint("/programs/{code}/applications", "GET", summary="The applications delivered to the program, with "
             "its review fields; filters review_status, tag, rating_min, q; sort (A6)", query=ReviewQuery,
             response=ReviewList, roles=PROGRAM, errors=(401, 403, 404, 422))
def list_reviews(code: str, query: ReviewQuery, principal):
    _program_code(code)
    season, rows = handlers.review_list(svc(), principal, code, **query.model_dump())
    return ReviewList(program_code=code, season=season, applications=rows)


CSV_RESPONSE = {200: {"description": "The list as CSV (UTF-8, one header row), as an attachment",
                      "headers": {"Content-Disposition": {"schema": {"type": "string"},
                                                          "description": "attachment; filename=..."}},
                      "content": {"text/csv": {"schema": {"type": "string"}}}}}
PACKET_REDIRECT = {303: {"description": "See Other: the packet PDF at a short-lived download link (without "
                                        "?redirect=false)",
                         "headers": {"Location": {"schema": {"type": "string", "format": "uri"},
                                                  "description": "the short-lived download link of the PDF"}}}}


@bp.endpoint("/programs/{code}/applications.csv", "GET", summary="The same list as CSV (A6)", query=ReviewQuery,
             roles=PROGRAM, errors=(401, 403, 404, 422), responses=CSV_RESPONSE)
def list_reviews_csv(code: str, query: ReviewQuery, principal):
    _program_code(code)
    season, rows = handlers.review_list(svc(), principal, code, **query.model_dump())
    return Response(body=handlers.review_csv(rows), status_code=200,
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": f'attachment; filename="applications-{code}-{season}.csv"'})


@bp.endpoint("/programs/{code}/applications/{applicant_id}", "GET", summary="One application delivered to the "
             "program: documents and received letters with short-lived download links (A6)", query=ReviewQuery,
             response=ReviewedApplication, roles=PROGRAM, errors=(401, 403, 404, 422))
def get_review(code: str, applicant_id: str, query: ReviewQuery, principal):
    _program_code(code)
    _ids(applicant_id=applicant_id)
    return handlers.review_one(svc(), principal, code, applicant_id, query.season)


@bp.endpoint("/programs/{code}/applications/{applicant_id}", "PATCH", summary="The program's private review: "
             "tags, rating 1-5, review status, notes (A6)", query=ReviewQuery, body=ReviewPatch,
             response=ReviewedApplication, roles=PROGRAM, errors=(401, 403, 404, 422))
def patch_review(code: str, applicant_id: str, query: ReviewQuery, body: ReviewPatch, principal):
    _program_code(code)
    _ids(applicant_id=applicant_id)
    return handlers.review_patch(svc(), principal, code, applicant_id, body.model_dump(exclude_unset=True),
                                 query.season)


# ----------------------------------------------------------------------------- college records (A2)
COLLEGE = ("college",)


def _college_code(college: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", college or ""):
        raise ValidationFailed("the path has an invalid college", errors=[FieldError("college", "1-40 letters, "
                                                                                               "digits, '-' or '_'")])


@bp.endpoint("/colleges/{college}/students/{applicant_id}/record", "PUT", summary="The college's record of a "
             "student: GPA, class rank and size, clinicals (A2)", body=CollegeRecordIn, response=CollegeRecordOut,
             roles=COLLEGE, errors=(401, 403, 404, 409, 422))
def put_college_record(college: str, applicant_id: str, body: CollegeRecordIn, principal):
    _college_code(college)
    _ids(applicant_id=applicant_id)
    record = handlers.put_record(svc(), principal, college, applicant_id, **body.model_dump())
    return handlers.record_out(svc(), record)


@bp.endpoint("/colleges/{college}/students/{applicant_id}/documents", "POST", summary="Offer an upload of the "
             "student's transcript or Dean's letter (PDF; A2)", body=CollegeDocumentIn, response=DocumentUploadOut,
             status=201, roles=COLLEGE, errors=(401, 403, 404, 409, 422))
def post_college_document(college: str, applicant_id: str, body: CollegeDocumentIn, principal):
    _college_code(college)
    _ids(applicant_id=applicant_id)
    document_id, upload = handlers.offer_college_document(svc(), principal, college, applicant_id, body.kind,
                                                          body.filename, body.size)
    return DocumentUploadOut(document_id=document_id, upload=Upload(**upload))


@bp.endpoint("/colleges/{college}/students/{applicant_id}/documents/{document_id}/completion", "POST",
             summary="Check the uploaded transcript or Dean's letter (a PDF, at most 5 MB; A2)",
             response=CollegeRecordOut, roles=COLLEGE, errors=(401, 403, 404, 409, 422))
def post_college_document_completion(college: str, applicant_id: str, document_id: str, principal):
    _college_code(college)
    _ids(applicant_id=applicant_id, document_id=document_id)
    record = handlers.complete_college_document(svc(), principal, college, applicant_id, document_id)
    return handlers.record_out(svc(), record)


@bp.endpoint("/colleges/{college}/students", "GET", summary="The college's students of a season and their "
             "progress (A2): registered, score release, documents, letters, submitted, programs designated",
             query=StudentsQuery, response=StudentList, roles=COLLEGE, errors=(401, 403, 422))
def list_students(college: str, query: StudentsQuery, principal):
    _college_code(college)
    rows = handlers.students(svc(), principal, college, query.season)
    return StudentList(college=college.upper(), season=query.season, students=rows)


@bp.endpoint("/programs/{code}/applications/{applicant_id}/packet.pdf", "GET", summary="The whole application "
             "as one PDF: a cover page with the applicant's facts and results, then the personal statement, CV, "
             "letters, transcript and Dean's letter (A6); answered with a 303 to a short-lived download link",
             query=PacketQuery, response=PacketOut, roles=PROGRAM, errors=(401, 403, 404, 422),
             responses=PACKET_REDIRECT)
def get_packet(code: str, applicant_id: str, query: PacketQuery, principal):
    _program_code(code)
    _ids(applicant_id=applicant_id)
    url = handlers.review_packet(svc(), principal, code, applicant_id, query.season)
    if not query.redirect:
        return PacketOut(url=url)
    return Response(body="", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})
