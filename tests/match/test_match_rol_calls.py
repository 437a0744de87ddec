"""How many AWS calls one rank order list request makes (the proof that a save or a
certification reads each item once: in a season of 500 applicants these requests are a
thousand or more, and on the local stack and on AWS each call costs CPU, a round trip and a
billed request).

Counted at botocore's before-send hook of the in-process emulator (`aws` fixture: moto's
BotocoreStubber handles that event for every client), i.e. every request a client sends.
Before: a save 11 calls (8 GetItem, 2 Query, 1 TransactWriteItems), a certification 10; MPII 13 / 11.
Now: an applicant's save 3 (MPII 4), certification 4; a track's save and certification 4 (MPII save 5),
reading the applicants named by key instead of querying every applicant of the season.
"""

from __future__ import annotations

import collections
import json

import pytest
from match_service_support import (
    CALENDAR,
    DAY,
    SEASON,
    applicant_principal,
    feed,
    mpii_delivered,
    program_principal,
    rol_window_clock,
    seeded_service,
)

from shared.errors import Conflict, RuleViolation, ValidationFailed
from tests.fakes import aws_calls

pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")


@pytest.fixture
def clock():
    return rol_window_clock()


@pytest.fixture
def svc(aws, clock):
    with seeded_service(clock, applicants=6) as service:
        yield service


def _within(seen: collections.Counter, most: int) -> None:
    assert sum(seen.values()) <= most, dict(seen)
    assert seen["GetItem"] == 0, dict(seen)  # every item read in a batch, none one by one


def test_an_applicants_list_is_saved_in_three_calls_and_certified_in_four(svc):
    from match import handlers

    me = applicant_principal(1)
    with aws_calls() as seen:
        view = handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1011", "1031"], me)
    _within(seen, 3)  # account pointer + calendar + round; applicant + list + the tracks named; the transaction
    assert (view["version"], view["certified"], view["locked"]) == (1, False, False)
    assert [t["track_code"] for t in view["tracks"]] == ["1011", "1031"] and view["tracks"][0]["program_code"] == "101"

    with aws_calls() as seen:
        view = handlers.certify_applicant_rol(svc, SEASON, "match", "me", 1, me)
    _within(seen, 4)
    assert (view["version"], view["certified"], view["counts"]) == (1, True, True)
    assert view["certified_at"] == svc.platform.clock.now()

    with aws_calls() as seen:  # a save over the version the client read: still 3, and it uncertifies (M1)
        view = handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1021"], me, version=1)
    _within(seen, 3)
    assert (view["version"], view["certified"], view["certified_at"]) == (2, False, None)
    stored = svc.store.rol(SEASON, "match", "applicant", f"app-{SEASON}-1")  # what was returned is what is held
    assert (stored.entries, stored.version, stored.certified) == (("1021",), 2, False)
    with pytest.raises(Conflict):  # certifying a version no longer current stays a 409 (M1)
        handlers.certify_applicant_rol(svc, SEASON, "match", "me", 1, me)

    with aws_calls() as seen:
        got = handlers.get_applicant_rol(svc, SEASON, "match", "me", me)
    assert sum(seen.values()) <= 3 and got["version"] == 2, dict(seen)
    assert got["tracks"][0]["track_name"] == "PMSR/RRA 1021"


def test_every_entry_is_still_checked_against_the_seasons_tracks(svc):
    """M1: the tracks a list names are read by key; one not found, a malformed entry, or a list
    naming more tracks than one batch read holds (then every track is queried) are refused alike."""
    from match import handlers

    me = applicant_principal(3)
    with pytest.raises(ValidationFailed) as refused:
        handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1011", "9999", "abc", "1011"], me)
    assert [e.field for e in refused.value.errors] == ["tracks[1]", "tracks[2]", "tracks[3]"]
    many = [f"{2000 + n}" for n in range(120)]
    with pytest.raises(ValidationFailed) as refused:
        handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1031", *many], me)
    assert [e.field for e in refused.value.errors] == [f"tracks[{n + 1}]" for n in range(120)]
    assert svc.store.rol(SEASON, "match", "applicant", f"app-{SEASON}-3").version == 0  # nothing written
    view = handlers.put_applicant_rol(svc, SEASON, "match", "me", [], me)  # an empty list: no track read
    assert (view["version"], view["tracks"]) == (1, [])


def test_a_tracks_entries_are_still_resolved_as_before(svc):
    """M1/M3: an entry is an applicant id or a code number; unknown ones and duplicates (the same
    applicant by id and by code) are refused; a withdrawn applicant stays, flagged."""
    from match import handlers
    from shared.contracts import ApplicantWithdrawn

    program = program_principal("102")
    with pytest.raises(ValidationFailed) as refused:
        handlers.put_track_rol(svc, SEASON, "match", "1021", ["10001", "99999", f"app-{SEASON}-1", "", "x" * 64],
                               program)
    assert [e.field for e in refused.value.errors] == ["applicants[1]", "applicants[3]", "applicants[4]",
                                                       "applicants[2]"]
    feed(ApplicantWithdrawn(season=SEASON, applicant_id=f"app-{SEASON}-4", code_number="10004", reason="x", version=9))
    view = handlers.put_track_rol(svc, SEASON, "match", "1021", ["10004", f"app-{SEASON}-5", "10000"], program)
    assert [(a["code_number"], a["applicant_id"], a["withdrawn"]) for a in view["applicants"]] == [
        ("10004", f"app-{SEASON}-4", True), ("10005", f"app-{SEASON}-5", False), ("10000", f"app-{SEASON}-0", False)]
    many = [f"{10000 + n % 6}" if n < 6 else f"app-none-{n}" for n in range(200)]  # beyond a batch read: queried
    with pytest.raises(ValidationFailed) as refused:
        handlers.put_track_rol(svc, SEASON, "match", "1021", many, program)
    assert len(refused.value.errors) == 194


def test_a_tracks_list_is_saved_and_certified_in_four_calls_without_querying_every_applicant(svc):
    """The applicants a list names are read by key (their code pointers, then the applicants): a
    Query of every applicant costs ~200 ms on the emulator in a season of 500, a BatchGetItem ~2-6 ms."""
    from match import handlers

    program = program_principal("101")
    with aws_calls() as seen:
        view = handlers.put_track_rol(svc, SEASON, "match", "1011", ["10002", f"app-{SEASON}-0"], program)
    _within(seen, 4)  # track + calendar + round + list; entries as ids and code pointers; their applicants; the tx
    assert seen["Query"] == 0, dict(seen)
    assert [a["code_number"] for a in view["applicants"]] == ["10002", "10000"] and view["version"] == 1
    with aws_calls() as seen:
        view = handlers.certify_track_rol(svc, SEASON, "match", "1011", None, program)
    _within(seen, 4)
    assert seen["Query"] == 0, dict(seen)
    assert view["certified"] and view["applicants"][0]["name"] == "First2 Last2"
    held = svc.store.rol(SEASON, "match", "track", "1011")
    assert held.certified and held.certified_version == 1


def test_the_lock_still_refuses_a_save_read_before_it(svc, clock):
    """The round's state is read once, before the write: the lock the run takes after that read
    is still enforced by the transaction's condition (M1)."""
    from match import handlers
    from match.adapters.store import DynamoMatchStore

    class LockedMeanwhile(DynamoMatchStore):
        def save_rol(self, season, rnd, *args, **kwargs):
            self.lock_round(season, rnd, clock.now(), "run-x")
            return super().save_rol(season, rnd, *args, **kwargs)

    svc.store = LockedMeanwhile()
    with pytest.raises(RuleViolation) as refused:
        handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1011"], applicant_principal(2))
    assert refused.value.rule == "M1"
    assert svc.store.rol(SEASON, "match", "applicant", f"app-{SEASON}-2").version == 0


def test_mpii_lists_cost_one_more_call_for_the_mpii_applications(svc, clock):
    from match import handlers
    from match.domain.mpii import MpiiParticipants

    clock.set(CALENDAR["mpii_rol_opens"] + DAY / 24)
    svc.store.save_mpii(SEASON, MpiiParticipants(("10001", "10002"), {"1021": 1, "1031": 2}), clock.now())
    feed(mpii_delivered(1, "102"), mpii_delivered(2, "103"))
    me = applicant_principal(1)
    with aws_calls() as seen:
        view = handlers.put_applicant_rol(svc, SEASON, "mpii", "me", ["1021"], me)
    _within(seen, 4)
    assert view["round"] == "mpii" and view["version"] == 1
    with pytest.raises(RuleViolation) as refused:  # M7: 103 got no MPII application from applicant 1
        handlers.put_applicant_rol(svc, SEASON, "mpii", "me", ["1031"], me)
    assert refused.value.rule == "M7"
    with aws_calls() as seen:
        handlers.certify_applicant_rol(svc, SEASON, "mpii", "me", None, me)
    _within(seen, 4)
    with aws_calls() as seen:
        view = handlers.put_track_rol(svc, SEASON, "mpii", "1031", ["10002"], program_principal("103"))
    _within(seen, 5)
    assert json.loads(json.dumps(view, default=str))["applicants"][0]["code_number"] == "10002"
