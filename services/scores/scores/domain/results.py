"""S3, S6: NBPME result rows, their matching to releases, and the attempts kept (pure rules)."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from scores.domain.release import NO_CMS_ID, normalize_att, normalize_cms
from shared.errors import FieldError, ValidationFailed

HEADER = ("att_number", "cms_id", "exam", "exam_date", "result")
PART1, PART2_WRITTEN, CSPE = "part1", "part2_written", "cspe"
EXAMS = (PART1, PART2_WRITTEN, CSPE)
PASS, FAIL = "pass", "fail"
MAX_ROWS = 20000
MAX_CELL = 100
# S6: the calendar instant from which programs see an exam's results
VISIBLE_FROM_KEY = {PART1: "scores_uploaded", PART2_WRITTEN: "part2_uploaded", CSPE: "part2_uploaded"}


@dataclass(frozen=True)
class Row:
    """One valid NBPME row; `row_id` is a hash of its content (the same row twice is one row)."""

    row: int
    att_number: str
    cms_id: str
    exam: str
    exam_date: date
    result: str
    row_id: str


@dataclass(frozen=True)
class Invalid:
    row: int
    field: str
    message: str


@dataclass(frozen=True)
class Attempt:
    """One exam attempt of an applicant (every attempt is kept, S3)."""

    result_id: str
    applicant_id: str
    season: str
    exam: str
    exam_date: date
    result: str
    official: bool
    recorded_at: datetime
    source: str = "nbpme"  # nbpme | self_reported (S7)
    att_number: str | None = None
    cms_id: str | None = None


def row_id(season: str, att: str, cms: str, exam: str, exam_date: date, result: str) -> str:
    text = "|".join((season, att, cms, exam, exam_date.isoformat(), result))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def refuse_file(detail: str) -> ValidationFailed:
    return ValidationFailed(f"{detail}; nothing was recorded. Send text/csv whose first line is the header "
                            f"{','.join(HEADER)}", rule="S3",
                            errors=[FieldError("body", f"a CSV file with the header {','.join(HEADER)}")])


def parse_csv(season: str, raw: bytes | str | None) -> tuple[list[Row], list[Invalid], int]:
    """S3: the whole file is refused (ValidationFailed) when it is not CSV or lacks the header;
    otherwise each bad row is reported and the good ones returned. Returns (rows, invalid, count)."""
    if raw is None or (isinstance(raw, bytes | str) and not raw.strip()):
        raise refuse_file("the upload is empty")
    if isinstance(raw, bytes):
        if b"\x00" in raw:
            raise refuse_file("the upload is not a text (CSV) file")
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise refuse_file("the upload is not UTF-8 text (CSV)") from None
    raw = raw.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(raw, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise refuse_file("the upload is not CSV") from None
    if tuple(h.strip().lower() for h in header) != HEADER:
        raise refuse_file(f"the first line is not the header (found {','.join(header)[:120]!r})")
    rows: list[Row] = []
    invalid: list[Invalid] = []
    count = 0
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue  # blank line
            count += 1
            if count > MAX_ROWS:
                raise refuse_file(f"the upload has more than {MAX_ROWS} rows; split it")
            line = reader.line_num
            parsed = parse_row(season, line, cells)
            if isinstance(parsed, Invalid):
                invalid.append(parsed)
            else:
                rows.append(parsed)
    except csv.Error as exc:
        raise refuse_file(f"the upload is not valid CSV (line {reader.line_num}: {exc})") from None
    return rows, invalid, count


def parse_row(season: str, line: int, cells: list[str]) -> Row | Invalid:
    if len(cells) != len(HEADER):
        return Invalid(line, "row", f"has {len(cells)} columns; expected {len(HEADER)} ({','.join(HEADER)})")
    values = {name: cell.strip() for name, cell in zip(HEADER, cells, strict=True)}
    for name, value in values.items():
        if len(value) > MAX_CELL:
            return Invalid(line, name, f"at most {MAX_CELL} characters")
    try:
        att = normalize_att(values["att_number"])
    except ValidationFailed as exc:
        return Invalid(line, "att_number", exc.errors[0].message)
    try:
        cms = normalize_cms(values["cms_id"]) if values["cms_id"] else NO_CMS_ID
    except ValidationFailed as exc:
        return Invalid(line, "cms_id", exc.errors[0].message)
    exam = values["exam"].lower()
    if exam not in EXAMS:
        return Invalid(line, "exam", f"one of {', '.join(EXAMS)}")
    try:
        when = date.fromisoformat(values["exam_date"])
        if len(values["exam_date"]) != 10:
            raise ValueError
    except ValueError:
        return Invalid(line, "exam_date", "a date YYYY-MM-DD, e.g. 2023-07-18")
    result = values["result"].lower()
    if result not in (PASS, FAIL):
        return Invalid(line, "result", "pass or fail")
    return Row(line, att, cms, exam, when, result, row_id(season, att, cms, exam, when, result))


def match(row_att: str, row_cms: str, release_cms: str | None) -> str | None:
    """S3: None when the row belongs to the release with that ATT number, else why not. The CMS
    ID must agree unless the release says N/A; a differing one is never guessed."""
    if release_cms is None:
        return f"no score release has the ATT number {row_att}"
    if release_cms == NO_CMS_ID or release_cms == row_cms:
        return None
    return (f"the ATT number {row_att} is released with another CMS ID than {row_cms} "
            "(not matched: never guessed)")


def passed(attempts: list[Attempt], exam: str, *, official_only: bool = True) -> bool:
    return any(a.exam == exam and a.result == PASS and (a.official or not official_only) for a in attempts)
