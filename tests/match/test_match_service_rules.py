"""Pure rules of the match service (no AWS): list windows and contents (M1), withdrawn
participants (M3), the state machine's plan and error names (M4), who sees what when
(M5, M6), MPII participants (M7), the Post-Match list (M8)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from match.domain.engine import solve
from match.domain.lists import snapshot_document
from match.domain.mpii import mpii_participants, post_match_list
from match.domain.release import (
    ApplicantOutcome,
    ReleaseState,
    TrackOutcome,
    applicant_view,
    program_view,
    require_released,
    run_statistics,
    stage,
)
from match.domain.rol import (
    ApplicantInfo,
    RankOrderList,
    TrackInfo,
    flagged_entries,
    require_certifiable,
    require_may_rank,
    resolve_applicants,
    validate_applicant_entries,
)
from match.domain.runs import PLAN, STEPS, run_id, step_key
from match.domain.season import ROUNDS, Calendar, require_lists_open
from match.domain.snapshot import parse_snapshot
from match.domain.verify import verify
from shared.errors import Conflict, Forbidden, RuleViolation, ValidationFailed

T = datetime(2031, 1, 1, 12, tzinfo=UTC)
H = timedelta(hours=1)
CAL = Calendar("2301", {"rol_opens": T, "rol_deadline": T + 10 * H, "match_status_day": T + 20 * H,
                        "mpii_rol_opens": T + 30 * H, "mpii_rol_deadline": T + 40 * H, "match_day": T + 50 * H})
ASL = Path(__file__).resolve().parents[2] / "infra" / "statemachines" / "match.asl.json"


def applicant(n: int, status: str = "registered") -> ApplicantInfo:
    return ApplicantInfo("2301", f"id-{n}", f"{10000 + n}", status, f"a{n}@x", f"F{n}", f"L{n}")


def track(code: str, positions: int = 1) -> TrackInfo:
    return TrackInfo("2301", code, code[:3], f"Program {code[:3]}", f"Track {code}", positions)


TRACKS = {c: track(c) for c in ("1011", "1021", "1031")}


def rol(kind: str, owner: str, entries, certified=True, rnd="match") -> RankOrderList:
    return RankOrderList("2301", rnd, kind, owner, tuple(entries), version=1, certified=certified)


# --- M1 --------------------------------------------------------------------------------------
def test_m1_lists_open_at_rol_opens_and_lock_at_rol_deadline():
    match = ROUNDS["match"]
    with pytest.raises(RuleViolation) as early:
        require_lists_open(CAL, match, T - timedelta(minutes=1), locked=False)
    assert early.value.rule == "M1" and "rol_opens" in early.value.detail
    require_lists_open(CAL, match, T, locked=False)
    require_lists_open(CAL, match, T + 10 * H - timedelta(seconds=1), locked=False)
    with pytest.raises(RuleViolation) as late:
        require_lists_open(CAL, match, T + 10 * H, locked=False)
    assert late.value.rule == "M1" and "locked" in late.value.detail
    with pytest.raises(RuleViolation):  # the run's lock wins over the clock
        require_lists_open(CAL, match, T + H, locked=True)


def test_m1_m7_mpii_lists_have_their_own_window():
    mpii = ROUNDS["mpii"]
    with pytest.raises(RuleViolation) as early:
        require_lists_open(CAL, mpii, T + 29 * H, locked=False)
    assert early.value.rule == "M7"
    require_lists_open(CAL, mpii, T + 35 * H, locked=False)


def test_m1_a_season_without_a_calendar_refuses_lists_and_names_the_missing_key():
    with pytest.raises(Conflict) as refused:
        require_lists_open(Calendar("2399"), ROUNDS["match"], T, locked=False)
    assert "rol_opens" in refused.value.detail


def test_m1_applicant_list_entries_are_known_tracks_each_once_with_no_length_limit():
    assert validate_applicant_entries(["1031", "1011"], TRACKS, season="2301") == ("1031", "1011")
    with pytest.raises(ValidationFailed) as bad:
        validate_applicant_entries(["1011", "9999", "1011"], TRACKS, season="2301")
    fields = {e.field: e.message for e in bad.value.errors}
    assert set(fields) == {"tracks[1]", "tracks[2]"}
    assert "9999" in fields["tracks[1]"] and "tracks[0]" in fields["tracks[2]"]
    many = {f"{i:04d}": track(f"{i:04d}") for i in range(1000, 4000)}
    assert len(validate_applicant_entries(list(many), many, season="2301")) == 3000  # no length limit


def test_m1_program_lists_take_ids_or_code_numbers_and_store_code_numbers():
    people = [applicant(n) for n in range(3)]
    by_id, by_code = {a.applicant_id: a for a in people}, {a.code_number: a for a in people}
    assert resolve_applicants(["id-2", "10000"], by_id, by_code, season="2301") == ("10002", "10000")
    with pytest.raises(ValidationFailed) as bad:
        resolve_applicants(["10000", "id-0", "nobody"], by_id, by_code, season="2301")
    assert {e.field for e in bad.value.errors} == {"applicants[1]", "applicants[2]"}


def test_m1_only_a_saved_non_empty_list_of_the_version_read_can_be_certified():
    with pytest.raises(RuleViolation):
        require_certifiable(RankOrderList("2301", "match", "applicant", "id-0"), None)
    with pytest.raises(RuleViolation):
        require_certifiable(rol("applicant", "id-0", []), None)
    with pytest.raises(Conflict) as changed:
        require_certifiable(rol("applicant", "id-0", ["1011"]), 7)
    assert changed.value.rule == "M1"
    require_certifiable(rol("applicant", "id-0", ["1011"]), 1)


def test_m1_uncertified_lists_do_not_count_in_the_snapshot():
    people = [applicant(0), applicant(1)]
    doc = snapshot_document(people, {"1011": 1}, [
        rol("applicant", "id-0", ["1011"], certified=True), rol("applicant", "id-1", ["1011"], certified=False),
        rol("track", "1011", ["10001", "10000"], certified=True)])
    assert doc["applicants"] == {"10000": ["1011"], "10001": []}
    assert doc["tracks"]["1011"]["ranks"] == ["10001", "10000"]  # ranked, but its own list does not count
    assert solve(parse_snapshot(doc)).matches == {"10000": "1011", "10001": None}
    doc = snapshot_document(people, {"1011": 1}, [rol("applicant", "id-0", ["1011"]),
                                                  rol("track", "1011", ["10000"], certified=False)])
    assert solve(parse_snapshot(doc)).matches["10000"] is None


# --- M3 --------------------------------------------------------------------------------------
def test_m3_withdrawn_applicants_stay_on_lists_flagged_and_are_skipped():
    people = [applicant(0, "withdrawn"), applicant(1)]
    lists = [rol("applicant", "id-0", ["1011"]), rol("applicant", "id-1", ["1011"]),
             rol("track", "1011", ["10000", "10001"])]
    doc = snapshot_document(people, {"1011": 1}, lists)
    assert doc["withdrawn"] == ["10000"] and doc["tracks"]["1011"]["ranks"] == ["10000", "10001"]
    snapshot = parse_snapshot(doc)
    result = solve(snapshot)
    assert result.matches == {"10000": None, "10001": "1011"} and verify(snapshot, result) == []
    shown = flagged_entries(lists[2], {a.code_number: a for a in people}, TRACKS)
    assert [(e["code_number"], e["withdrawn"]) for e in shown] == [("10000", True), ("10001", False)]
    with pytest.raises(Conflict) as refused:
        require_may_rank(people[0])
    assert refused.value.rule == "M3"


def test_m3_withdrawn_tracks_stay_on_lists_flagged_and_are_skipped_in_both_rounds():
    people = [applicant(0), applicant(1)]
    lists = [rol("applicant", "id-0", ["1011", "1021"]), rol("applicant", "id-1", ["1011"]),
             rol("track", "1011", ["10000", "10001"]), rol("track", "1021", ["10000"])]
    doc = snapshot_document(people, {"1011": 1, "1021": 1}, lists, withdrawn_tracks=["1011", "1099"])
    assert doc["withdrawn"] == ["1011"]  # a withdrawn track not in this round is not named
    assert doc["applicants"]["10000"] == ["1011", "1021"]  # it keeps its place on applicants' lists
    snapshot = parse_snapshot(doc)
    result = solve(snapshot)
    assert result.matches == {"10000": "1021", "10001": None} and verify(snapshot, result) == []
    closed = {**TRACKS, "1011": TrackInfo("2301", "1011", "101", "Program 101", "Track 1011", 1, withdrawn=True)}
    shown = flagged_entries(lists[0], {}, closed)
    assert [(e["track_code"], e["withdrawn"]) for e in shown] == [("1011", True), ("1021", False)]
    with pytest.raises(Conflict) as refused:
        require_may_rank(closed["1011"])  # its program can no longer change or certify its list
    assert refused.value.rule == "M3" and "track 1011" in refused.value.detail
    # M7/M8: it offers nothing in MPII nor on the Post-Match list, whatever it left unfilled
    p = mpii_participants(people, matched_codes=["10000"], unfilled=result.unfilled, withdrawn_tracks=["1011"])
    assert p.track_positions == {}
    assert post_match_list({"1011": 1, "1021": 1}, closed) == [
        {"track_code": "1021", "track_name": "Track 1021", "program_code": "102", "program_name": "Program 102",
         "open_positions": 1}]


# --- M4 --------------------------------------------------------------------------------------
def test_m4_the_state_machine_runs_the_plan_in_order_with_named_retries_and_a_stop_on_verification():
    asl = json.loads(ASL.read_text())
    states = asl["States"]
    order, name = [], asl["StartAt"]
    while states[name].get("Type") == "Task":
        body = states[name]["Parameters"]["MessageBody"]
        assert states[name]["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
        assert states[name]["Parameters"]["QueueUrl"] == "${MatchQueueUrl}"
        assert body["task_token.$"] == "$$.Task.Token" and body["caspr_task"] == "match"
        assert body["step"] in STEPS
        assert {"TransientStoreError"} <= {e for r in states[name]["Retry"] for e in r["ErrorEquals"]}
        assert states[name]["Catch"][0]["ErrorEquals"] == ["VerificationFailed"]
        order.append(step_key(body["step"], body.get("round"), body.get("key")))
        name = states[name]["Next"]
    assert tuple(order) == PLAN and states[name]["Type"] == "Succeed"
    assert "Wait" not in {s["Type"] for s in states.values()}  # never a wall-clock wait
    alert = states[states["VerifyMatch"]["Catch"][0]["Next"]]
    assert alert["Parameters"]["MessageBody"]["step"] == "alert" and states[alert["Next"]]["Type"] == "Fail"
    assert set(re.findall(r"\$\{(\w+)\}", ASL.read_text())) == {"MatchQueueUrl"}


def test_m4_one_execution_name_per_season_and_attempt():
    assert run_id("2024", 1) == "2024-match-1"
    with pytest.raises(ValueError):
        run_id("20 24", 1)


# --- M5 / M6 ---------------------------------------------------------------------------------
def test_m6_nothing_is_visible_before_release_and_its_instant():
    released = ReleaseState(status_released_at=T + 20 * H)
    with pytest.raises(Forbidden) as hidden:
        require_released(ReleaseState(), CAL, T + 60 * H)  # instant passed, but not released by the run
    assert hidden.value.rule == "M6"
    with pytest.raises(Forbidden):
        require_released(released, CAL, T + 20 * H - timedelta(seconds=1))  # released early: still hidden
    assert require_released(released, CAL, T + 20 * H) == "status"
    both = ReleaseState(T + 20 * H, T + 50 * H)
    assert stage(both, CAL, T + 49 * H) == "status" and stage(both, CAL, T + 50 * H) == "results"


def test_m5_status_day_shows_matched_or_unmatched_only_match_day_shows_program_and_track():
    a = applicant(0)
    outcome = ApplicantOutcome("match", "10000", "1011")
    status = applicant_view("status", a, outcome, False, None, TRACKS)
    assert status["match"] == {"status": "matched"} and "1011" not in json.dumps(status)
    results = applicant_view("results", a, outcome, False, None, TRACKS)
    assert results["match"]["track_code"] == "1011" and results["match"]["program_code"] == "101"
    mpii = applicant_view("results", applicant(1), ApplicantOutcome("match", "10001", None), True,
                          ApplicantOutcome("mpii", "10001", "1031"), TRACKS)
    assert mpii["match"] == {"status": "unmatched"} and mpii["mpii"]["track_code"] == "1031"


def test_m5_programs_learn_unfilled_positions_then_their_matched_applicants():
    tracks = [track("1011", 2)]
    match = {"1011": TrackOutcome("1011", 2, 1, ("10000",))}
    status = program_view("status", "101", "2301", tracks, match, {}, {})
    assert status["tracks"][0]["unfilled"] == 1 and status["tracks"][0]["in_mpii"] is True
    assert "matched" not in status["tracks"][0] and "10000" not in json.dumps(status)
    people = {"10000": applicant(0), "10001": applicant(1)}
    results = program_view("results", "101", "2301", tracks, match,
                           {"1011": TrackOutcome("1011", 1, 0, ("10001",))}, people)
    row = results["tracks"][0]
    assert [(m["round"], m["code_number"]) for m in row["matched"]] == [("match", "10000"), ("mpii", "10001")]
    assert row["unfilled_after_mpii"] == 0


def test_m3_m7_a_withdrawn_track_is_not_in_mpii_in_its_programs_view_nor_in_the_statistics():
    closed = TrackInfo("2301", "1011", "101", "Program 101", "Track 1011", 2, withdrawn=True)
    outcome = {"1011": TrackOutcome("1011", 2, 2, ())}
    view = program_view("status", "101", "2301", [closed], outcome, {}, {})
    assert view["tracks"][0]["in_mpii"] is False  # MPII not open yet: it will not take part
    view = program_view("status", "101", "2301", [track("1011", 2)], outcome, {}, {}, mpii_tracks=())
    assert view["tracks"][0]["in_mpii"] is False  # MPII opened without it: the stored participants decide
    view = program_view("status", "101", "2301", [track("1011", 2)], outcome, {}, {}, mpii_tracks=("1011",))
    assert view["tracks"][0]["in_mpii"] is True
    doc = {"applicants": {"10000": ["1011", "1021"]}, "tracks": {"1011": {"positions": 2, "ranks": ["10000"]},
                                                               "1021": {"positions": 1, "ranks": ["10000"]}},
           "withdrawn": ["1011"]}
    stats = run_statistics(doc, {"10000": "1021"}, {"1011": 2, "1021": 0})
    assert (stats["positions"], stats["unfilled_positions"], stats["filled_positions"], stats["withdrawn_tracks"],
            stats["tracks_filled"]) == (1, 0, 1, 1, 1)


def test_m6_statistics_for_administrators():
    doc = {"applicants": {"10000": ["1011"], "10001": [], "10002": ["1011"]},
           "tracks": {"1011": {"positions": 2, "ranks": ["10000", "10002"]}}, "withdrawn": ["10002"]}
    stats = run_statistics(doc, {"10000": "1011", "10001": None, "10002": None}, {"1011": 1})
    assert (stats["matched"], stats["unmatched"], stats["withdrawn_applicants"], stats["filled_positions"],
            stats["unfilled_positions"], stats["applicants_with_certified_list"]) == (1, 1, 1, 1, 1, 2)


# --- M7 / M8 ---------------------------------------------------------------------------------
def test_m7_participants_are_registered_not_withdrawn_unmatched_applicants_and_unfilled_tracks():
    people = [applicant(0), applicant(1), applicant(2, "withdrawn"), applicant(3)]  # 3 ranked nothing
    p = mpii_participants(people, matched_codes=["10000"], unfilled={"1011": 0, "1021": 2, "1031": 1})
    assert p.applicant_codes == ("10001", "10003")
    assert p.track_positions == {"1021": 2, "1031": 1}


def test_m7_mpii_lists_are_limited_to_participants():
    with pytest.raises(RuleViolation) as refused:
        validate_applicant_entries(["1021", "1011"], TRACKS, season="2301", mpii_tracks=["1021"])
    assert refused.value.rule == "M7" and "1011" in refused.value.detail
    people = [applicant(0), applicant(1)]
    with pytest.raises(RuleViolation) as refused:
        resolve_applicants(["10000", "10001"], {}, {a.code_number: a for a in people}, season="2301",
                           mpii_codes=["10001"])
    assert refused.value.rule == "M7" and refused.value.errors[0].field == "applicants[0]"
    doc = snapshot_document([applicant(1)], {"1021": 2}, [rol("applicant", "id-1", ["1021", "1011"], rnd="mpii"),
                                                          rol("track", "1021", ["10001", "10000"], rnd="mpii")])
    assert doc == {"applicants": {"10001": ["1021"]}, "tracks": {"1021": {"positions": 2, "ranks": ["10001"]}},
                   "withdrawn": []}


def test_m8_the_post_match_list_names_positions_still_open_after_mpii():
    entries = post_match_list({"1011": 0, "1021": 2, "1031": 1}, TRACKS)
    assert [(e["track_code"], e["open_positions"], e["program_code"]) for e in entries] == [("1021", 2, "102"),
                                                                                          ("1031", 1, "103")]
