"""Match engine and snapshot format: hand-made instances (M2 deferred acceptance, M3 withdrawn, M4 reproducible)."""

from __future__ import annotations

import hashlib
import heapq
import json
import random

import pytest

from match.domain import engine
from match.domain.engine import solve
from match.domain.snapshot import (
    Result,
    SnapshotError,
    Track,
    canonical_json,
    dumps_result,
    loads_json,
    parse_result,
    parse_snapshot,
    result_to_json,
    snapshot_sha256,
    snapshot_to_json,
)
from match.domain.verify import verify


def snap(applicants: dict, tracks: dict, withdrawn=()):
    """tracks: code -> (positions, [ranks])."""
    return parse_snapshot(
        {
            "applicants": applicants,
            "tracks": {t: {"positions": p, "ranks": r} for t, (p, r) in tracks.items()},
            "withdrawn": list(withdrawn),
        }
    )


def run(applicants, tracks, withdrawn=()):
    s = snap(applicants, tracks, withdrawn)
    result = solve(s)
    assert verify(s, result) == []
    return result


# --------------------------------------------------------------------------- M2


def test_m2_track_keeps_its_most_preferred_proposer():
    r = run({"a": ["T"], "b": ["T"], "c": ["T"]}, {"T": (1, ["b", "c", "a"])})
    assert r.matches == {"a": None, "b": "T", "c": None}
    assert r.unfilled == {"T": 0}


def test_m2_capacity_greater_than_one_keeps_top_ranked_up_to_positions():
    r = run(
        {"a": ["T", "U"], "b": ["T", "U"], "c": ["T", "U"], "d": ["T", "U"]},
        {"T": (2, ["d", "b", "a", "c"]), "U": (3, ["a", "b", "c", "d"])},
    )
    assert r.matches == {"a": "U", "b": "T", "c": "U", "d": "T"}
    assert r.unfilled == {"T": 0, "U": 1}


def test_m2_result_is_applicant_optimal_not_track_optimal():
    # Two stable matchings: {a:X, b:Y} (applicants' favourites) and {a:Y, b:X} (tracks').
    r = run({"a": ["X", "Y"], "b": ["Y", "X"]}, {"X": (1, ["b", "a"]), "Y": (1, ["a", "b"])})
    assert r.matches == {"a": "X", "b": "Y"}


def test_m2_displacement_chain():
    # c displaces b at T; b displaces a at U; a ends at V.
    r = run(
        {"a": ["U", "V"], "b": ["T", "U"], "c": ["T"]},
        {"T": (1, ["c", "b"]), "U": (1, ["b", "a"]), "V": (1, ["a"])},
    )
    assert r.matches == {"a": "V", "b": "U", "c": "T"}


def test_m2_pair_matches_only_when_both_ranked_each_other():
    # a lists T but T did not rank a; T ranks b but b did not list T.
    r = run({"a": ["T", "U"], "b": ["U"]}, {"T": (2, ["b"]), "U": (1, ["b", "a"])})
    assert r.matches == {"a": None, "b": "U"}
    assert r.unfilled == {"T": 2, "U": 0}


def test_m2_unacceptable_applicant_cannot_displace_anyone():
    r = run({"a": ["T"], "b": ["T"]}, {"T": (1, ["a"])})
    assert r.matches == {"a": "T", "b": None}


def test_m2_empty_lists_on_both_sides():
    r = run({"a": [], "b": ["T"]}, {"T": (1, []), "U": (2, ["a", "b"])})
    assert r.matches == {"a": None, "b": None}
    assert r.unfilled == {"T": 1, "U": 2}


def test_m2_zero_position_track_matches_no_one():
    r = run({"a": ["Z", "T"], "b": ["Z"]}, {"Z": (0, ["a", "b"]), "T": (1, ["a"])})
    assert r.matches == {"a": "T", "b": None}
    assert r.unfilled == {"Z": 0, "T": 0}


def test_m2_empty_snapshot():
    r = run({}, {})
    assert r.matches == {} and r.unfilled == {}


def test_m2_every_applicant_present_in_result():
    r = run({"a": [], "b": ["T"], "c": ["T"]}, {"T": (1, ["c", "b"])})
    assert set(r.matches) == {"a", "b", "c"}


def test_m2_more_positions_than_applicants():
    r = run({"a": ["T"], "b": ["T"]}, {"T": (10, ["a", "b"])})
    assert r.matches == {"a": "T", "b": "T"}
    assert r.unfilled == {"T": 8}


def test_m2_large_ranks_beyond_small_int_cache():
    # Ranks above 256 are distinct int objects; the sentinel logic must not care.
    apps = {f"a{i}": ["T"] for i in range(600)}
    r = run(apps, {"T": (3, [f"a{i}" for i in reversed(range(600))])})
    assert sorted(code for code, t in r.matches.items() if t) == ["a597", "a598", "a599"]


# --------------------------------------------------------------------------- M3


def test_m3_withdrawn_applicant_is_skipped_and_frees_the_position():
    r = run({"a": ["T"], "b": ["T"]}, {"T": (1, ["a", "b"])}, withdrawn=["a"])
    assert r.matches == {"a": None, "b": "T"}


def test_m3_withdrawn_track_is_skipped_and_applicants_go_further_down():
    r = run({"a": ["T", "U"]}, {"T": (1, ["a"]), "U": (1, ["a"])}, withdrawn=["T"])
    assert r.matches == {"a": "U"}
    assert r.unfilled == {"T": 1, "U": 0}  # a withdrawn track fills nothing


def test_m3_withdrawn_stay_on_lists_in_the_snapshot():
    s = snap({"a": ["T", "U"], "b": ["T"]}, {"T": (1, ["b", "a"]), "U": (1, ["a"])}, withdrawn=["b", "U"])
    assert s.applicants["a"] == ("T", "U") and s.tracks["T"].ranks == ("b", "a")
    assert s.withdrawn == frozenset({"b", "U"})
    assert solve(s).matches == {"a": "T", "b": None}


def test_m3_everyone_withdrawn():
    r = run({"a": ["T"]}, {"T": (1, ["a"])}, withdrawn=["a", "T"])
    assert r.matches == {"a": None}


# --------------------------------------------------------------------------- M4 determinism, format


def test_m4_same_snapshot_same_bytes_whatever_the_key_order():
    doc = {
        "applicants": {"a": ["T", "U"], "b": ["U", "T"], "c": ["T"]},
        "tracks": {
            "T": {"positions": 1, "ranks": ["c", "a", "b"]},
            "U": {"positions": 1, "ranks": ["a", "b"]},
        },
        "withdrawn": ["c", "U"],
    }
    shuffled = {
        "withdrawn": ["U", "c"],
        "tracks": {
            "U": {"ranks": ["a", "b"], "positions": 1},
            "T": {"ranks": ["c", "a", "b"], "positions": 1},
        },
        "applicants": {"c": ["T"], "b": ["U", "T"], "a": ["T", "U"]},
    }
    first = dumps_result(solve(parse_snapshot(doc)))
    assert dumps_result(solve(parse_snapshot(doc))) == first
    assert dumps_result(solve(parse_snapshot(shuffled))) == first
    assert snapshot_sha256(parse_snapshot(doc)) == snapshot_sha256(parse_snapshot(shuffled))


def test_m4_snapshot_sha256_is_sha_of_canonical_json_of_parsed_snapshot():
    doc = {"applicants": {"b": ["T"], "a": []}, "tracks": {"T": {"positions": 2, "ranks": ["b"]}}}
    canonical = (
        '{"applicants":{"a":[],"b":["T"]},"tracks":{"T":{"positions":2,"ranks":["b"]}},"withdrawn":[]}'
    )
    s = parse_snapshot(doc)
    assert snapshot_sha256(s) == hashlib.sha256(canonical.encode()).hexdigest()
    assert canonical_json(snapshot_to_json(s)) == canonical
    # omitted withdrawn == empty withdrawn
    assert snapshot_sha256(parse_snapshot({**doc, "withdrawn": []})) == snapshot_sha256(s)
    # different snapshot, different hash
    other = parse_snapshot({**doc, "tracks": {"T": {"positions": 1, "ranks": ["b"]}}})
    assert snapshot_sha256(other) != snapshot_sha256(s)


@pytest.mark.parametrize(
    "codes",
    [
        ["12345", "23456"],
        ['we"ird', "back\\slash"],
        ["tab\there", "ünï\x7f"],
        ["x[]", "y"],
    ],
)
def test_m4_canonical_text_fast_path_equals_json_dumps(codes):
    a, b = codes
    doc = {
        "applicants": {a: ["T1", "T2"], b: []},
        "tracks": {"T1": {"positions": 3, "ranks": [b, a]}, "T2": {"positions": 0, "ranks": []}},
        "withdrawn": [b, "T2"],
    }
    s = parse_snapshot(doc)
    expected = hashlib.sha256(canonical_json(snapshot_to_json(s)).encode()).hexdigest()
    assert snapshot_sha256(s) == expected
    result = solve(s)
    assert dumps_result(result) == canonical_json(result_to_json(result)).encode() + b"\n"


def test_m4_result_file_is_canonical_json_and_round_trips():
    s = snap({"b": ["T"], "a": ["T"], "c": []}, {"T": (1, ["a", "b"]), "U": (2, [])})
    data = dumps_result(solve(s))
    assert data.endswith(b"\n") and b" " not in data
    doc = json.loads(data)
    assert list(doc) == ["matches", "snapshot_sha256", "unfilled"]
    assert doc["matches"] == {"a": "T", "b": None, "c": None}
    assert doc["unfilled"] == {"T": 0, "U": 2}
    again = parse_result(doc, s)
    assert verify(s, again) == []
    assert dumps_result(again) == data


def test_m4_solve_matches_agrees_with_solve():
    s = snap({"a": ["T"], "b": ["T"]}, {"T": (1, ["b", "a"])})
    assert engine.solve_matches(s) == solve(s).matches == {"a": None, "b": "T"}


def test_m2_track_constructor_derives_rank_of_and_refuses_duplicates():
    t = Track(2, ["x", "y"])
    assert t.ranks == ("x", "y") and t.rank_of == {"x": 0, "y": 1}
    assert t == Track(2, ("x", "y"))
    with pytest.raises(SnapshotError):
        Track(1, ("x", "x"))


def test_m2_python_heap_fallback_matches_heapq():
    rng = random.Random(7)
    for _ in range(300):
        heap = [rng.randrange(50) for _ in range(rng.randrange(1, 12))]
        heap.sort(reverse=True)  # a sorted-descending list is a valid max-heap
        mine = list(heap)
        item = rng.randrange(50)
        assert engine._heapreplace_max_py(mine, item) == heap[0]
        # still a max-heap holding the same multiset
        assert sorted(mine) == sorted(heap[1:] + [item])
        assert all(mine[(i - 1) // 2] >= mine[i] for i in range(1, len(mine)))
    assert engine._heapreplace_max is getattr(
        heapq, "heapreplace_max", getattr(heapq, "_heapreplace_max", None)
    )


# --------------------------------------------------------------------------- malformed snapshots


def _doc(**overrides):
    doc = {
        "applicants": {"12345": ["1001", "1002"], "23456": ["1001"]},
        "tracks": {
            "1001": {"positions": 1, "ranks": ["12345", "23456"]},
            "1002": {"positions": 2, "ranks": ["12345"]},
        },
    }
    doc.update(overrides)
    return doc


def _t1001(obj):
    """The standard document with track "1001" replaced by ``obj``."""
    doc = _doc()
    doc["tracks"]["1001"] = obj
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "snapshot: expected an object, got an array"),
        ({"applicants": {}}, 'snapshot: missing key "tracks"'),
        ({"tracks": {}}, 'snapshot: missing key "applicants"'),
        (_doc(extra=1), 'snapshot: unknown key "extra"'),
        (_doc(applicants=[]), "applicants: expected an object"),
        (_doc(tracks=None), "tracks: expected an object"),
        (_doc(applicants={"12345": ["1001", "9999"]}), 'applicants["12345"][1]: unknown track "9999"'),
        (
            _doc(applicants={"12345": ["1001", "1002", "1001"]}),
            'applicants["12345"][2]: duplicate track "1001"',
        ),
        (
            _doc(applicants={"12345": "1001"}),
            'applicants["12345"]: expected an array of track codes, got a string',
        ),
        (
            _doc(applicants={"12345": [1001]}),
            'applicants["12345"][0]: expected a track code (string), got an integer',
        ),
        (
            _doc(applicants={"12345": [["1001"]]}),
            'applicants["12345"][0]: expected a track code (string), got an array',
        ),
        (_doc(applicants={"": []}), 'applicants[""]: applicant code must be a non-empty string'),
        (_t1001([]), 'tracks["1001"]: expected an object with positions and ranks, got an array'),
        (_t1001({"ranks": []}), 'tracks["1001"]: missing key "positions"'),
        (_t1001({"positions": 1}), 'tracks["1001"]: missing key "ranks"'),
        (_t1001({"positions": 1, "ranks": [], "x": 0}), 'tracks["1001"]: unknown key "x"'),
        (
            _t1001({"positions": -1, "ranks": []}),
            'tracks["1001"].positions: must be a non-negative integer, got -1',
        ),
        (
            _t1001({"positions": 1.5, "ranks": []}),
            'tracks["1001"].positions: must be a non-negative integer, got 1.5',
        ),
        (
            _t1001({"positions": "2", "ranks": []}),
            'tracks["1001"].positions: must be a non-negative integer, got "2"',
        ),
        (
            _t1001({"positions": True, "ranks": []}),
            'tracks["1001"].positions: must be a non-negative integer, got true',
        ),
        (
            _t1001({"positions": 1, "ranks": {}}),
            'tracks["1001"].ranks: expected an array of applicant codes, got an object',
        ),
        (
            _doc(
                tracks={
                    "1001": {"positions": 1, "ranks": ["12345", "99999"]},
                    "1002": {"positions": 1, "ranks": []},
                }
            ),
            'tracks["1001"].ranks[1]: unknown applicant "99999"',
        ),
        (
            _doc(
                tracks={
                    "1001": {"positions": 1, "ranks": ["23456", "12345", "23456"]},
                    "1002": {"positions": 1, "ranks": []},
                }
            ),
            'tracks["1001"].ranks[2]: duplicate applicant "23456" (already at [0])',
        ),
        (_doc(withdrawn="12345"), "withdrawn: expected an array"),
        (
            _doc(withdrawn=["12345", 7]),
            "withdrawn[1]: expected an applicant or track code (string), got an integer",
        ),
        (_doc(withdrawn=["55555"]), 'withdrawn[0]: unknown applicant or track "55555"'),
        (_doc(withdrawn=["1001", "12345", "1001"]), 'withdrawn[2]: duplicate entry "1001" (already at [0])'),
        (
            _doc(applicants={"1001": []}, tracks={"1001": {"positions": 1, "ranks": []}}),
            'tracks["1001"]: code is also an applicant code',
        ),
    ],
)
def test_m2_malformed_snapshot_is_refused_naming_the_entry(doc, message):
    with pytest.raises(SnapshotError) as excinfo:
        parse_snapshot(doc)
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_m2_unknown_entry_is_found_in_any_list_not_just_the_first():
    doc = _doc(applicants={f"{10000 + i}": ["1001"] for i in range(50)})
    doc["applicants"]["10049"] = ["1001", "1003"]
    doc["tracks"]["1001"]["ranks"] = ["10000"]
    doc["tracks"]["1002"]["ranks"] = []
    with pytest.raises(SnapshotError, match=r'applicants\["10049"\]\[1\]: unknown track "1003"'):
        parse_snapshot(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "not valid JSON: Expecting value (line 1, column 1)"),
        (b"{", "not valid JSON"),
        (b'{"a": 1, "a": 2}', 'duplicate key "a"'),
        (b'{"a": NaN}', "NaN is not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"positions": ' + b"9" * 5000 + b"}", "not valid JSON: Exceeds the limit"),
    ],
)
def test_m2_loads_json_refuses_bad_text(text, message):
    with pytest.raises(SnapshotError) as excinfo:
        loads_json(text)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "result: expected an object"),
        ({"matches": {}, "unfilled": {}}, 'result: missing key "snapshot_sha256"'),
        ({"matches": {}, "unfilled": {}, "snapshot_sha256": "0" * 64, "x": 1}, 'result: unknown key "x"'),
        ({"matches": [], "unfilled": {}, "snapshot_sha256": "0" * 64}, "matches: expected an object"),
        ({"matches": {}, "unfilled": [], "snapshot_sha256": "0" * 64}, "unfilled: expected an object"),
        (
            {"matches": {}, "unfilled": {}, "snapshot_sha256": "xyz"},
            "snapshot_sha256: expected 64 lowercase hex",
        ),
        (
            {"matches": {"a": 5}, "unfilled": {}, "snapshot_sha256": "0" * 64},
            'matches["a"]: expected a track code',
        ),
        (
            {"matches": {}, "unfilled": {"T": "1"}, "snapshot_sha256": "0" * 64},
            'unfilled["T"]: expected an integer',
        ),
        (
            {"matches": {}, "unfilled": {"T": False}, "snapshot_sha256": "0" * 64},
            'unfilled["T"]: expected an integer',
        ),
    ],
)
def test_m2_malformed_result_is_refused(doc, message):
    with pytest.raises(SnapshotError) as excinfo:
        parse_result(doc)
    assert message in str(excinfo.value)


def test_m2_result_dataclass_round_trip():
    r = Result(matches={"a": "T", "b": None}, unfilled={"T": 0}, snapshot_sha256="a" * 64)
    assert parse_result(result_to_json(r)) == r


def test_m2_hand_built_snapshot_with_unknown_track_is_refused_clearly():
    from match.domain.snapshot import Snapshot

    s = Snapshot(applicants={"a": ("NOPE",)}, tracks={"T": Track(1, ("a",))})
    with pytest.raises(SnapshotError, match="unknown track 'NOPE'"):
        solve(s)


def test_m2_huge_positions_do_not_allocate_per_position():
    r = run({"a": ["T"], "b": ["T"]}, {"T": (10**12, ["b", "a"])})
    assert r.matches == {"a": "T", "b": "T"}
    assert r.unfilled == {"T": 10**12 - 2}
