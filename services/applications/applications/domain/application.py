"""The application (A1, A7): a personal statement, a CV, supplemental documents and 3 to 6
letter-of-reference requests; submitted once, which locks the core documents.

The application is an aggregate that raises its events: every change is a method returning a
`shared.outbox.Change` (the new state, its `version` still the one read, and the events and
emails it causes); the repository's versioned save commits all of it in one transaction.
Building the event contracts here is the accepted exception to "no pydantic in the domain"
(as in registration)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.contracts import ApplicationSubmitted
from shared.email import Email
from shared.errors import Conflict, FieldError, NotFound, RuleViolation, TooManyRequests, ValidationFailed
from shared.outbox import Change

DRAFT, SUBMITTED = "draft", "submitted"
PERSONAL_STATEMENT, CV, SUPPLEMENTAL = "personal_statement", "cv", "supplemental"
TRANSCRIPT, DEANS_LETTER = "transcript", "deans_letter"  # the college's (A2)
APPLICANT_KINDS = (PERSONAL_STATEMENT, CV, SUPPLEMENTAL)
CORE_KINDS = (PERSONAL_STATEMENT, CV)  # A7: locked on submission
PENDING, PRESENT = "pending", "present"
MIN_LETTERS, MAX_LETTERS = 3, 6  # A1
MAX_SUPPLEMENTAL = 10
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
REQUESTED, ACCEPTED, DECLINED, RECEIVED = "requested", "accepted", "declined", "received"
LETTER_STATUSES = (REQUESTED, ACCEPTED, DECLINED, RECEIVED)
REMINDER_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Document:
    document_id: str
    kind: str
    filename: str
    size: int
    status: str = PENDING  # pending (upload offered) | present (checked)
    created_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def object_key(self) -> str:
        return f"documents/{self.document_id}.pdf"


@dataclass(frozen=True)
class Letter:
    letter_id: str
    writer_name: str
    writer_email: str
    label: str
    waived: bool
    status: str = REQUESTED
    requested_at: datetime | None = None
    responded_at: datetime | None = None
    received_at: datetime | None = None
    reminded_at: datetime | None = None
    size: int | None = None
    upload_id: str | None = None  # the pending upload's id (each upload its own object)
    file_id: str | None = None  # the received letter's object id

    def object_key(self, file_id: str) -> str:
        return f"letters/{self.letter_id}/{file_id}.pdf"


def check_pdf(head: bytes | None, size: int | None, rule: str) -> None:
    """A1/A7: the uploaded object exists, is a PDF by its bytes and is at most 5 MB."""
    if head is None or size is None:
        raise ValidationFailed("nothing was uploaded for this document yet: upload the PDF to the URL given, then "
                               "ask again", rule=rule, errors=[FieldError("file", "not uploaded")])
    if size > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(f"the file is {size} bytes; at most {MAX_DOCUMENT_BYTES} bytes (5 MB) are accepted",
                               rule=rule, errors=[FieldError("file", "over 5 MB")])
    if not head.startswith(PDF_MAGIC):
        raise ValidationFailed("the file is not a PDF (its bytes do not begin with %PDF-); upload a PDF",
                               rule=rule, errors=[FieldError("file", "not a PDF")])


@dataclass(frozen=True)
class Application:
    applicant_id: str
    season: str
    status: str = DRAFT
    submitted_at: datetime | None = None
    documents: tuple[Document, ...] = ()
    letters: tuple[Letter, ...] = ()
    version: int = 0

    # --- reading -----------------------------------------------------------------------
    def document(self, document_id: str) -> Document:
        for d in self.documents:
            if d.document_id == document_id:
                return d
        raise NotFound(f"no document {document_id} in this application")

    def letter(self, letter_id: str) -> Letter:
        for x in self.letters:
            if x.letter_id == letter_id:
                return x
        raise NotFound(f"no letter {letter_id} in this application")

    def present(self, kind: str) -> list[Document]:
        return [d for d in self.documents if d.kind == kind and d.status == PRESENT]

    def object_keys(self) -> frozenset[str]:
        """Every stored PDF the application refers to (documents, letters received and the
        writers' pending uploads): what a change drops from it is no longer needed (A7)."""
        return frozenset([d.object_key for d in self.documents]
                         + [x.object_key(i) for x in self.letters for i in (x.file_id, x.upload_id) if i])

    @property
    def active_letters(self) -> list[Letter]:
        return [x for x in self.letters if x.status != DECLINED]

    def missing(self) -> list[str]:
        """What submission still needs (A1)."""
        out = []
        if not self.present(PERSONAL_STATEMENT):
            out.append("personal_statement")
        if not self.present(CV):
            out.append("cv")
        if len(self.active_letters) < MIN_LETTERS:
            out.append(f"letters: {MIN_LETTERS - len(self.active_letters)} more request(s) (at least {MIN_LETTERS})")
        return out

    # --- documents (A1, A7) --------------------------------------------------------------
    def offer_upload(self, document_id: str, kind: str, filename: str, size: int, now: datetime) -> Change:
        """A new document slot (status pending) whose PDF the browser uploads; a core document
        replaces the one before it when completed. A7: core documents are locked once submitted."""
        if kind not in APPLICANT_KINDS:
            raise ValidationFailed(f"kind must be one of {', '.join(APPLICANT_KINDS)}",
                                   errors=[FieldError("kind", "unknown kind")])
        if self.status == SUBMITTED and kind in CORE_KINDS:
            raise RuleViolation(f"the {kind.replace('_', ' ')} is locked: the application was submitted "
                                f"(A7: core documents lock on submission; supplemental documents can still be "
                                "added or replaced)", rule="A7")
        if size > MAX_DOCUMENT_BYTES:
            raise ValidationFailed(f"a document is at most {MAX_DOCUMENT_BYTES} bytes (5 MB)", rule="A1",
                                   errors=[FieldError("size", "over 5 MB")])
        if kind == SUPPLEMENTAL and len([d for d in self.documents if d.kind == SUPPLEMENTAL]) >= MAX_SUPPLEMENTAL:
            raise RuleViolation(f"at most {MAX_SUPPLEMENTAL} supplemental documents; delete one first", rule="A1")
        # one upload pending per core kind: a new offer replaces an unfinished one
        kept = tuple(d for d in self.documents if not (d.status == PENDING and d.kind == kind and kind in CORE_KINDS))
        doc = Document(document_id, kind, filename, size, PENDING, created_at=now)
        return Change(replace(self, documents=(*kept, doc)))

    def complete_upload(self, document_id: str, head: bytes | None, size: int | None, now: datetime) -> Change:
        doc = self.document(document_id)
        if self.status == SUBMITTED and doc.kind in CORE_KINDS:
            raise RuleViolation(f"the {doc.kind.replace('_', ' ')} is locked: the application was submitted (A7)",
                                rule="A7")
        check_pdf(head, size, "A1")
        done = replace(doc, status=PRESENT, size=size, completed_at=now)
        others = self.documents
        if doc.kind in CORE_KINDS:  # one personal statement, one CV: the new one replaces the old
            others = tuple(d for d in others if not (d.kind == doc.kind and d.status == PRESENT))
        return Change(replace(self, documents=tuple(done if d.document_id == document_id else d for d in others)))

    def remove_document(self, document_id: str) -> Change:
        doc = self.document(document_id)
        if self.status == SUBMITTED and doc.kind in CORE_KINDS:
            raise RuleViolation(f"the {doc.kind.replace('_', ' ')} is locked: the application was submitted (A7)",
                                rule="A7")
        return Change(replace(self, documents=tuple(d for d in self.documents if d.document_id != document_id)))

    # --- letters (A1) ------------------------------------------------------------------
    def request_letter(self, letter_id: str, writer_name: str, writer_email: str, label: str, waived: bool,
                       now: datetime, email: Email) -> Change:
        if len(self.active_letters) >= MAX_LETTERS:
            raise RuleViolation(f"an application holds at most {MAX_LETTERS} letter-of-reference requests (A1); "
                                "delete a request that is still 'requested' first", rule="A1")
        if any(x.writer_email.lower() == writer_email.lower() for x in self.active_letters):
            raise Conflict(f"a letter is already requested from {writer_email}", rule="A1",
                           errors=[FieldError("writer_email", "already asked")])
        letter = Letter(letter_id, writer_name, writer_email, label, waived, REQUESTED, requested_at=now)
        return Change(replace(self, letters=(*self.letters, letter)), emails=(email,))

    def _with_letter(self, letter: Letter) -> Application:
        return replace(self, letters=tuple(letter if x.letter_id == letter.letter_id else x for x in self.letters))

    def delete_letter(self, letter_id: str) -> Change:
        letter = self.letter(letter_id)
        if letter.status != REQUESTED:
            raise RuleViolation(f"this letter request is {letter.status}: only a request still 'requested' can be "
                                "deleted (A1)", rule="A1")
        if self.status == SUBMITTED and len(self.active_letters) <= MIN_LETTERS:
            raise RuleViolation(f"a submitted application keeps at least {MIN_LETTERS} letter requests (A1): add "
                                "another request first", rule="A1")
        return Change(replace(self, letters=tuple(x for x in self.letters if x.letter_id != letter_id)))

    def remind(self, letter_id: str, now: datetime, email: Email) -> Change:
        letter = self.letter(letter_id)
        if letter.status not in (REQUESTED, ACCEPTED):
            raise RuleViolation(f"this letter is {letter.status}: no reminder to send (A1)", rule="A1")
        last = letter.reminded_at or letter.requested_at
        if last is not None and now - last < REMINDER_EVERY:
            raise TooManyRequests("the writer was sent the link less than a day ago; one reminder a day (A1)",
                                  rule="A1", extra={"next_reminder_at": (last + REMINDER_EVERY).isoformat()})
        return Change(self._with_letter(replace(letter, reminded_at=now)), emails=(email,))

    def respond(self, letter_id: str, accept: bool, now: datetime) -> Change:
        letter = self.letter(letter_id)
        if letter.status == RECEIVED:
            raise Conflict("the letter was received already", rule="A1")
        if letter.status == DECLINED:
            raise Conflict("this request was declined; the applicant may ask again", rule="A1")
        return Change(self._with_letter(replace(letter, status=ACCEPTED if accept else DECLINED, responded_at=now)))

    def offer_letter_upload(self, letter_id: str, upload_id: str, delivered: bool) -> Change:
        letter = self.letter(letter_id)
        self._check_letter_writable(letter, delivered)
        return Change(self._with_letter(replace(letter, upload_id=upload_id)))

    def complete_letter(self, letter_id: str, head: bytes | None, size: int | None, now: datetime,
                        delivered: bool) -> Change:
        letter = self.letter(letter_id)
        self._check_letter_writable(letter, delivered)
        if not letter.upload_id:
            raise ValidationFailed("ask for an upload URL first (POST .../upload)", rule="A1",
                                   errors=[FieldError("file", "not uploaded")])
        check_pdf(head, size, "A1")
        return Change(self._with_letter(replace(letter, status=RECEIVED, received_at=now, size=size,
                                                file_id=letter.upload_id, upload_id=None,
                                                responded_at=letter.responded_at or now)))

    @staticmethod
    def _check_letter_writable(letter: Letter, delivered: bool) -> None:
        if letter.status == DECLINED:
            raise Conflict("this request was declined", rule="A1")
        if letter.status == REQUESTED:
            raise RuleViolation("accept the request first, then upload the letter (A1)", rule="A1")
        if letter.status == RECEIVED and delivered:
            raise RuleViolation("the letter can no longer be replaced: the application was delivered to a program "
                                "(A1)", rule="A1")

    # --- submission (A1, A7) -------------------------------------------------------------
    def submit(self, now: datetime) -> Change:
        if self.status == SUBMITTED:
            raise Conflict("the application is submitted already", rule="A7")
        missing = self.missing()
        if missing:
            raise RuleViolation("an application needs a personal statement, a CV and at least 3 letter requests "
                                f"before it is submitted (A1); missing: {', '.join(missing)}", rule="A1",
                                errors=[FieldError(m.split(':')[0], "missing") for m in missing])
        state = replace(self, status=SUBMITTED, submitted_at=now)
        return Change(state, (ApplicationSubmitted(season=self.season, applicant_id=self.applicant_id,
                                                   submitted_at=now),))


def letter_request_email(to: str, writer_name: str, applicant_name: str, label: str, waived: bool, link: str,
                         reminder: bool = False) -> Email:
    waiver = ("The applicant has waived the right to see this letter." if waived
              else "The applicant has not waived the right to see this letter.")
    opening = "A reminder: " if reminder else ""
    return Email(to=to, subject=f"{'Reminder: ' if reminder else ''}Letter of reference for {applicant_name} (CASPR)",
                 body=(f"Dear {writer_name},\n\n{opening}{applicant_name} asks you for a letter of reference "
                       f"({label}) for their CASPR residency application.\n{waiver}\n\n"
                       f"Accept or decline, and upload your letter as a PDF, at this link (no account needed; it "
                       f"is for this letter only and expires):\n{link}\n\n"
                       "The applicant sees only whether the letter was received, never its content.\n"))
