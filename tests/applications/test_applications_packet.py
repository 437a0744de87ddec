"""The packet (A6): one PDF, a generated cover page then the application's documents."""

from __future__ import annotations

import io

from pypdf import PdfReader

from applications.adapters.packet import packet, text_pdf

from .conftest import CALENDAR, deadline, program, season, submitted, upload


def pdf(text: str) -> bytes:
    return text_pdf([text])


def pages_text(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_a6_packet_is_a_cover_page_then_each_part_and_names_what_is_unreadable():
    out = packet(["Applicant: Ada Lovelace (12345)"], [("Personal statement", pdf("I want surgery")),
                                                       ("CV", pdf("Born 1815")), ("Letter: Dr X", b"%PDF-broken")])
    texts = pages_text(out)
    assert len(texts) == 3
    assert "Ada Lovelace" in texts[0] and "Not readable as PDF" in texts[0] and "Letter: Dr X" in texts[0]
    assert "I want surgery" in texts[1] and "Born 1815" in texts[2]


def test_a6_packet_over_http_only_for_the_program_it_was_delivered_to(api, svc, clock):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    # replace the test PDFs by readable ones: a supplemental document
    assert upload(api, svc, token, "a1", "supplemental", body=pdf("Research poster")).status_code == 200
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}).status_code == 201
    r = api.call("GET", "/programs/101/applications/a1/packet.pdf?season=2024", "program:p:101")
    assert r.status_code == 404  # not delivered yet
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    r = api.call("GET", "/programs/101/applications/a1/packet.pdf?season=2024", "program:p:101")
    assert r.status_code == 303, r.data
    url = r.headers["Location"]
    assert "X-Amz-Signature" in url or "Signature" in url
    key = url.split("/caspr-test-documents/", 1)[1].split("?", 1)[0]
    assert key.startswith("packets/101/2024/a1/")
    texts = pages_text(svc.storage.read(key))
    assert "Ada Lovelace" in texts[0] and "12345" in texts[0]
    assert any("Research poster" in t for t in texts[1:])
    assert api.call("GET", "/programs/101/applications/a1/packet.pdf?season=2024",
                    "program:p:102").status_code == 403
    assert api.call("GET", "/programs/101/applications/a1/packet.pdf?season=2024",
                    "applicant:u1").status_code == 403


def test_a6_packet_link_as_json_for_pages(api, svc, clock):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}).status_code == 201
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    r = api.call("GET", "/programs/101/applications/a1/packet.pdf?season=2024&redirect=false", "program:p:101")
    assert r.status_code == 200 and "/packets/101/2024/a1/" in r.data["url"]


def test_a6_openapi_declares_the_csv_and_the_packets_redirect():
    from caspr_local.apps import load_app
    from shared.openapi import build
    from shared.web import ApiBlueprint

    load_app("applications")
    doc = build({"applications": [e for bp in ApiBlueprint.all["applications"] for e in bp.endpoints]})
    csv_ok = doc["paths"]["/applications/programs/{code}/applications.csv"]["get"]["responses"]["200"]
    assert "text/csv" in csv_ok["content"]
    packet = doc["paths"]["/applications/programs/{code}/applications/{applicant_id}/packet.pdf"]["get"]["responses"]
    assert "Location" in packet["303"]["headers"] and "application/json" in packet["200"]["content"]
