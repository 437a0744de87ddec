"""The application packet (A6): one PDF — a generated cover page with the applicant's facts
and results, then the personal statement, CV, letters, transcript and Dean's letter, merged
with pypdf. A document that cannot be read as a PDF is named on the cover, not dropped
silently."""

from __future__ import annotations

import io
from collections.abc import Iterable

LINES_PER_PAGE = 60


def _escape(text: str) -> str:
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(lines: Iterable[str], title: str = "") -> bytes:
    """A plain PDF of text lines (Helvetica, US Letter), one page per LINES_PER_PAGE lines."""
    lines = [title, ""] + list(lines) if title else list(lines)
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, max(len(lines), 1), LINES_PER_PAGE)] or [[]]
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pages_id = len(objects) + 1
    add(b"")  # the Pages object, filled below
    kids = []
    for page in pages:
        ops = ["BT", "/F1 10 Tf", "12 TL", "50 750 Td"]
        for i, line in enumerate(page):
            ops.append(f"({_escape(line[:110])}) Tj" if i == 0 else f"T* ({_escape(line[:110])}) Tj")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)))
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref))
    return out.getvalue()


def packet(cover_lines: list[str], parts: list[tuple[str, bytes]]) -> bytes:
    """The cover page, then each (label, PDF bytes) part in order."""
    from pypdf import PdfReader, PdfWriter

    readable: list[tuple[str, PdfReader]] = []
    unreadable: list[str] = []
    for label, data in parts:
        try:
            reader = PdfReader(io.BytesIO(data))
            _ = len(reader.pages)
            readable.append((label, reader))
        except Exception:  # noqa: BLE001 - any unreadable file is named on the cover instead
            unreadable.append(label)
    lines = list(cover_lines) + ["", "Contents: " + (", ".join(label for label, _ in readable) or "none")]
    if unreadable:
        lines.append("Not readable as PDF (download them separately): " + ", ".join(unreadable))
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(text_pdf(lines, title="CASPR application"))))
    for label, reader in readable:
        writer.append(reader, outline_item=label)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
