"""The compiled Match inner loops (match/domain/_native.c) against the pure-Python reference.

The C code decides nothing of its own: for every input it must give what the
pure-Python code gives - the same Snapshot, the same Result, the same bytes, the
same error message. These tests hold it to that:

* the module is built (a broken build must fail CI, not fall back silently);
* random regular snapshots, written out in random JSON layouts: ``loads_snapshot``
  (C reader) equals ``parse_snapshot(json.loads(...))``, the C solver (on the
  index and on the dicts) equals ``solve_reference``, and the C hash and result
  writer give the reference's bytes;
* random edits of snapshot files (fuzzing the C reader): whatever the bytes, the
  outcome - the Snapshot, or the SnapshotError message - is the one of the
  pure-Python path;
* the documents the C reader hands back to Python (escapes, non-ASCII codes,
  huge positions, duplicate keys, ...) still give the reference's answers.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_match_properties import documents

from match.domain import engine
from match.domain import snapshot as snap_mod
from match.domain.engine import solve, solve_reference
from match.domain.snapshot import (
    Result,
    Snapshot,
    SnapshotError,
    Track,
    dumps_result,
    loads_json,
    loads_snapshot,
    native_index,
    parse_snapshot,
    snapshot_sha256,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_native_module_is_built() -> None:
    # setup.py builds it at `make install`; without it everything still works (pure
    # Python), but ~5x slower, so CI must notice a build that silently failed.
    from match.domain import _native  # noqa: F401

    assert engine.IMPLEMENTATION == "native (C)"
    assert snap_mod._native is not None


def python_outcome(data: bytes) -> tuple[str, object]:
    try:
        return "ok", parse_snapshot(loads_json(data))
    except SnapshotError as exc:
        return "error", str(exc)


def native_outcome(data: bytes) -> tuple[str, object]:
    try:
        return "ok", loads_snapshot(data)
    except SnapshotError as exc:
        return "error", str(exc)


def outcome(function, *args, **kwargs) -> tuple[str, object]:
    """The value, or the exception's type and message."""
    try:
        return "ok", function(*args, **kwargs)
    except Exception as exc:
        return type(exc).__name__, str(exc)


def layout(doc: dict, rnd: random.Random) -> bytes:
    """The document as JSON text in one of several legal layouts (key order, whitespace)."""

    def shuffled(d: dict) -> dict:
        items = list(d.items())
        rnd.shuffle(items)
        return dict(items)

    doc = shuffled({**doc, "tracks": {k: shuffled(v) for k, v in doc["tracks"].items()}})
    if not doc.get("withdrawn") and rnd.random() < 0.5:
        doc.pop("withdrawn", None)
    style = rnd.choice([{}, {"indent": 2}, {"separators": (",", ":")}, {"indent": "\t"}, {"separators": (" , ", " : ")}])
    text = json.dumps(doc, **style)
    if rnd.random() < 0.3:
        text = " \r\n\t" + text + "\n "
    return text.encode()


def assert_same_run(native_snap, python_snap) -> None:
    assert native_snap == python_snap
    reference = solve_reference(python_snap)
    on_index = solve(native_snap)
    on_dicts = solve(python_snap)
    assert on_index == reference
    assert on_dicts == reference
    # same dict order too: the result file and every API listing follow it
    assert list(on_index.matches.items()) == list(reference.matches.items())
    assert list(on_index.unfilled.items()) == list(reference.unfilled.items())
    assert list(on_dicts.matches.items()) == list(reference.matches.items())
    assert dumps_result(on_index) == dumps_result(reference, native=False)
    assert snapshot_sha256(native_snap) == snap_mod._snapshot_sha256_py(python_snap)


def assert_same_outcome(data: bytes) -> None:
    """Both paths accept the file (same Snapshot, same run) or both refuse it with the same message."""
    native = native_outcome(data)
    python = python_outcome(data)
    assert native[0] == python[0], (data, native, python)
    if native[0] == "error":
        assert native[1] == python[1]
    else:
        assert_same_run(native[1], python[1])


@SETTINGS
@given(documents(max_applicants=12, max_tracks=6, max_positions=4), st.randoms(use_true_random=False))
def test_regular_snapshots_read_solve_hash_and_write_like_the_reference(doc, rnd) -> None:
    data = layout(doc, rnd)
    kind, native_snap = native_outcome(data)
    assert kind == "ok"
    assert native_index(native_snap) is not None  # a regular document takes the C path
    assert_same_run(native_snap, parse_snapshot(json.loads(data)))


def test_a_larger_market_gives_the_reference_result() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from instances import generate

    doc = generate(3000, 400, seed=7)
    data = json.dumps(doc).encode()
    native_snap = loads_snapshot(data)
    assert native_index(native_snap) is not None
    assert_same_run(native_snap, parse_snapshot(json.loads(data)))
    assert sum(t is not None for t in solve(native_snap).matches.values()) > 1000


# Edits that a real file can suffer (and that the C reader must recognise or hand back).
FRAGMENTS = [
    "", " ", ",", ":", "[", "]", "{", "}", '"', "\\", "\\u0041", "\\n", "0", "00", "-1", "1.5", "1e3",
    "true", "null", "\u00e9", "\x00", "\x7f", '"x"', '"1000"', '"10000"', '"positions"', '"ranks"',
    '"withdrawn":[]', '"applicants":{}', "\ufeff", "99999999999999999999",
]  # fmt: skip


@st.composite
def edited_files(draw) -> bytes:
    doc = draw(documents(max_applicants=5, max_tracks=3))
    text = layout(doc, draw(st.randoms(use_true_random=False))).decode()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.sampled_from(FRAGMENTS)) + text[at + cut :]
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_files())
def test_any_edited_file_gets_the_reference_outcome(data) -> None:
    assert_same_outcome(data)


POSITION_TOKENS = ["0", "7", "10", "01", "00", "-0", "-1", "1.0", "1e1", "1E2", "2.", " 3 ", "999999999999999999",
                   "1000000000000000000", "99999999999999999999", "true", "null", '"1"', "[1]", "0x1"]  # fmt: skip


def _raw(value) -> str:
    return value.raw if isinstance(value, Raw) else json.dumps(value)


class Raw:
    """A JSON token written as it is (to plant what json.dumps never writes)."""

    def __init__(self, raw: str) -> None:
        self.raw = raw


def write(pairs) -> str:
    """Serialise nested lists of (key, value) pairs: keys may repeat, values may be Raw."""
    if isinstance(pairs, PairList):
        return "{" + ", ".join(f"{json.dumps(k)}: {write(v)}" for k, v in pairs) + "}"
    if isinstance(pairs, list):
        return "[" + ", ".join(write(v) for v in pairs) + "]"
    return _raw(pairs)


class PairList(list):
    pass


@st.composite
def corrupted_files(draw) -> bytes:
    """A snapshot with one planted fault of the kinds parse_snapshot names (or a harmless variant)."""
    doc = draw(documents(max_applicants=5, max_tracks=3))
    apps = list(doc["applicants"])
    tracks = list(doc["tracks"])
    top = PairList()
    app_pairs = PairList((a, list(p)) for a, p in doc["applicants"].items())
    track_pairs = PairList((t, PairList([("positions", v["positions"]), ("ranks", list(v["ranks"]))])) for t, v in doc["tracks"].items())
    withdrawn = list(doc["withdrawn"])
    fault = draw(st.sampled_from(["position", "dup_entry", "wrong_side", "unknown", "dup_key", "dup_withdrawn",
                                  "track_key", "track_key_twice", "empty_code", "missing", "withdrawn_unknown"]))  # fmt: skip
    codes = apps + tracks
    if fault == "position" and track_pairs:
        i = draw(st.integers(0, len(track_pairs) - 1))
        track_pairs[i][1][0] = ("positions", Raw(draw(st.sampled_from(POSITION_TOKENS))))
    elif fault in ("dup_entry", "wrong_side", "unknown"):
        lists = [p for _, p in app_pairs] + [v[1][1][1] for v in track_pairs]
        if lists:
            target = draw(st.sampled_from(lists))
            if fault == "dup_entry" and target:
                target.insert(draw(st.integers(0, len(target))), draw(st.sampled_from(target)))
            elif fault == "wrong_side" and codes:
                target.append(draw(st.sampled_from(codes)))
            else:
                target.append(draw(st.sampled_from(["", "nobody", "10000", "1000", " 1000"])))
    elif fault == "dup_key":
        where = draw(st.sampled_from(["top", "applicants", "tracks", "track"]))
        if where == "applicants" and app_pairs:
            app_pairs.append(draw(st.sampled_from(list(app_pairs))))
        elif where == "tracks" and track_pairs:
            track_pairs.append(draw(st.sampled_from(list(track_pairs))))
        elif where == "track" and track_pairs:
            track_pairs[0][1].append(draw(st.sampled_from(list(track_pairs[0][1]))))
        else:
            top.append(("withdrawn", []))
    elif fault == "dup_withdrawn" and withdrawn:
        withdrawn.append(withdrawn[0])
    elif fault == "withdrawn_unknown":
        withdrawn.append(draw(st.sampled_from(["", "nobody", 5, None])))
    elif fault == "track_key" and track_pairs:
        track_pairs[0][1].append((draw(st.sampled_from(["rank", "extra", "positions "])), []))
    elif fault == "track_key_twice" and track_pairs:  # two keys, one of them twice
        pairs = track_pairs[0][1]
        keep = draw(st.integers(0, 1))
        pairs[1 - keep] = pairs[keep]
    elif fault == "empty_code":
        app_pairs.append(("", []))
    elif fault == "missing":
        del (track_pairs[0][1] if track_pairs else app_pairs)[:1]
    top += [("applicants", app_pairs), ("tracks", track_pairs), ("withdrawn", withdrawn)]
    if draw(st.booleans()):
        top.reverse()
    return write(top).encode()


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted_files())
def test_planted_faults_get_the_reference_outcome(data) -> None:
    assert_same_outcome(data)


@pytest.mark.parametrize(
    "text",
    [
        '{"applicants": {"A\\u00e9": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["A\\u00e9"]}}}',
        '{"applicants": {"A\u00e9": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["A\u00e9"]}}}',
        '{"applicants": {"A\\"B": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["A\\"B"]}}}',
        '{"applicants": {"A": ["T"]}, "tracks": {"T": {"positions": 100000000000000000000, "ranks": ["A"]}}}',
        '{"applicants": {"A": ["T"]}, "tracks": {"T": {"positions": 0, "ranks": ["A"]}}}',
        '{"applicants": {"A": ["T"], "B": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["B", "A"]}}, "withdrawn": ["B"]}',
        # 19 digits, above 2**63: beyond the C reader's 18 (an int64 would overflow)
        '{"applicants": {"A": ["T"]}, "tracks": {"T": {"positions": 9999999999999999999, "ranks": ["A"]}}}',
        # codes the C writers must leave to json.dumps: a control character, a backslash, DEL (legal
        # unescaped in JSON, escaped by ensure_ascii), a UCS-2 code whose bytes look like ASCII ("\u4141")
        '{"applicants": {"A\\u001f": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["A\\u001f"]}}}',
        '{"applicants": {"A\\\\B": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["A\\\\B"]}}}',
        '{"applicants": {"A\x7f": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["A\x7f"]}}}',
        '{"applicants": {"\\u4141": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["\\u4141"]}}}',
        '{"applicants": {"A": ["\\u4141"]}, "tracks": {"\\u4141": {"positions": 1, "ranks": ["A"]}}}',
    ],
)
def test_documents_handed_back_to_python_still_match(text: str) -> None:
    data = text.encode()
    kind, native_snap = native_outcome(data)
    assert kind == "ok"
    assert_same_run(native_snap, parse_snapshot(json.loads(data)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"applicants": {"A": ["T", "T"]}, "tracks": {"T": {"positions": 1, "ranks": []}}}', 'duplicate track "T"'),
        ('{"applicants": {"A": []}, "tracks": {"T": {"positions": 1, "ranks": ["A", "A"]}}}', 'duplicate applicant "A"'),
        ('{"applicants": {"A": []}, "tracks": {"T": {"positions": 01, "ranks": []}}}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {"positions": 1, "positions": 2}}}', 'duplicate key "positions"'),
        ('{"applicants": {}, "tracks": {"T": {"ranks": [], "ranks": []}}}', 'duplicate key "ranks"'),
        ('{"applicants": {"A": ["X"]}, "tracks": {"T": {"positions": 1, "ranks": []}}}', 'unknown track "X"'),
        ('{"applicants": {"A": []}, "tracks": {"T": {"positions": -1, "ranks": []}}}', "non-negative integer"),
        ('{"applicants": {"A": []}, "applicants": {}, "tracks": {}}', 'duplicate key "applicants"'),
        ('{"applicants": {"A": []}, "tracks": {"A": {"positions": 1, "ranks": []}}}', "also an applicant code"),
        ('{"applicants": {"A": []}, "tracks": {}, "withdrawn": ["A", "A"]}', 'duplicate entry "A"'),
        ('{"applicants": {"A": []}, "tracks": {}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {}, "tracks": {}}', 'duplicate key "tracks"'),
        ('{"applicants": {}, "tracks": {"T": {"positions": 1, "ranks": []}}, "tracks": {"U": {"positions": 1, "ranks": []}}}',
         'duplicate key "tracks"'),
        ('{"tracks": {}}', 'missing key "applicants"'),
        ('{"applicants": {}}', 'missing key "tracks"'),
        ('{"applicants": {}, "tracks": {}} 0', "Extra data"),
        ('{"applicants": {"A\x1f": []}, "tracks": {}}', "Invalid control character"),
        ('{"applicants": {"A\t": []}, "tracks": {}}', "Invalid control character"),
        ('{"applicants": {}, "tracks": {"T": {"positions": 1, "ranks": [""]}}}', 'unknown applicant ""'),
        # A missing value, key, colon or bracket, or a truncated string: the C reader must not take
        # what it could not read for an empty value, nor a truncated object for a complete one (a
        # reader that gives up without consuming lets its caller go on from there).
        ('{"applicants": , "tracks": {}}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {}, "withdrawn": }', "not valid JSON"),
        ('{"applicants": {"A": }, "tracks": {}}', "not valid JSON"),
        ('{"applicants": {"A", "tracks": {}}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": }}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {"ranks": , "positions": 1}}}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {"positions": , "ranks": []}}}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {"positions": }}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {"positions": 1}}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {}}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {"x": }}', "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T": {"positions": 1, "ranks": [], "U": {"positions": 1, "ranks": []}}}',
         "not valid JSON"),
        ('{"applicants": {}, "tracks": {"T', "not valid JSON"),
    ],
)
def test_malformed_files_are_named_by_the_python_parser(text: str, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        loads_snapshot(text.encode())
    assert python_outcome(text.encode()) == native_outcome(text.encode())


@pytest.mark.parametrize("entry", ["9999", None, ("1000",), (), 5])
def test_an_unknown_track_in_a_hand_built_snapshot_gets_the_reference_message(entry) -> None:
    # engine.solve turns the KeyError into a SnapshotError naming the entry: the C solver
    # must raise KeyError(entry) as the reference's state[entry] does, for None and tuples too.
    snapshot = Snapshot(applicants={"10000": (entry,)}, tracks={"1000": Track(1, ("10000",))})
    messages = []
    for run in (solve, solve_reference):
        with pytest.raises(SnapshotError) as caught:
            run(snapshot)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


class _UnstableHash(str):
    """A code whose hash changes after its first use: its dict no longer finds it under its own key."""

    def __hash__(self) -> int:
        hashed = self.__dict__.setdefault("hashed", 0)
        self.hashed = 1
        return hashed  # 0, then 1 (another slot of a one-entry dict)


# Hand-built snapshots and results whose codes the C writers must leave to Python (they return
# None): not str, a UCS-2 str whose bytes look like ASCII, a key its dict cannot find again.
HAND_BUILT_SNAPSHOTS = {
    "int applicant": Snapshot(applicants={5: ()}, tracks={}),
    "int list entry": Snapshot(applicants={"A": (5,)}, tracks={}),
    "int rank": Snapshot(applicants={}, tracks={"T": Track(1, (5,))}),
    "UCS-2 code": Snapshot(applicants={"\u4141": ("T",)}, tracks={"T": Track(1, ("\u4141",))}),
    "unstable applicant": Snapshot(applicants={_UnstableHash("A"): ()}, tracks={}),
    "unstable track": Snapshot(applicants={}, tracks={_UnstableHash("T"): Track(1, ())}),
}
HAND_BUILT_RESULTS = {
    "int applicant": Result(matches={5: None}, unfilled={}, snapshot_sha256="0"),
    "int track": Result(matches={"A": 5}, unfilled={}, snapshot_sha256="0"),
    "UCS-2 track": Result(matches={"A": "\u4141"}, unfilled={"\u4141": 0}, snapshot_sha256="0"),
    "unstable codes": Result(matches={_UnstableHash("A"): None}, unfilled={_UnstableHash("T"): 0}, snapshot_sha256="0"),
}


@pytest.mark.parametrize("name", HAND_BUILT_SNAPSHOTS)
def test_a_hand_built_snapshot_hashes_like_the_reference(name: str) -> None:
    snapshot = HAND_BUILT_SNAPSHOTS[name]
    assert outcome(snapshot_sha256, snapshot) == outcome(snap_mod._snapshot_sha256_py, snapshot)


@pytest.mark.parametrize("name", HAND_BUILT_RESULTS)
def test_a_hand_built_result_is_written_like_the_reference(name: str) -> None:
    result = HAND_BUILT_RESULTS[name]
    assert outcome(dumps_result, result) == outcome(dumps_result, result, native=False)


@pytest.mark.parametrize("code", [" ", "A B", "!", "~", "#$%&'()*+-./;<=>?@^_`|", "[{:,}]"])
def test_plain_codes_and_the_largest_plain_positions_take_the_c_path(code: str) -> None:
    # Any printable ASCII code without quote or backslash and positions below 10**18 are regular:
    # the C reader must take them, and the C writers must not leave them to Python (same bytes,
    # several times slower - only these asserts see it).
    doc = {"applicants": {code: ["T"]}, "tracks": {"T": {"positions": 10**18 - 1, "ranks": [code]}}}
    data = json.dumps(doc).encode()
    kind, native_snap = native_outcome(data)
    assert kind == "ok"
    assert native_index(native_snap) is not None
    python_snap = parse_snapshot(json.loads(data))
    assert_same_run(native_snap, python_snap)
    native = snap_mod._native
    assert native.canonical_snapshot(python_snap.applicants, python_snap.tracks, [code]) is not None  # withdrawn
    result = solve_reference(python_snap)
    assert native.dumps_result(result.matches, result.unfilled, result.snapshot_sha256) is not None


def test_the_index_functions_refuse_what_is_not_an_index() -> None:
    native = snap_mod._native
    for function in (native.materialize, native.solve_index, native.canonical_index):
        for bad in (None, b"{}"):
            with pytest.raises(ValueError):
                function(bad)


# A child process: a 32 MiB code, then an address-space limit so that making its str fails.
_MEMORY_ERROR_CHILD = """
import resource
from match.domain import _native

code = "A" * (32 << 20)
index = _native.load(b'{"applicants": {"%s": ["T"]}, "tracks": {"T": {"positions": 1, "ranks": ["%s"]}}}' % (code.encode(), code.encode()))
with open("/proc/self/statm") as f:
    size = int(f.read().split()[0]) * resource.getpagesize()
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (size + (8 << 20), hard))
try:
    _native.materialize(index)
except MemoryError:
    print("MemoryError")
finally:
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
print(_native.solve_index(index) == ({code: "T"}, {"T": 0}), _native.materialize(index)[0] == {code: ("T",)})
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux's")
def test_an_index_stays_usable_after_a_memory_error() -> None:
    # The str objects of an index are made on first use; a MemoryError half-way must not
    # leave NULLs behind for the next call (it crashed in solve_index).
    child = subprocess.run(
        [sys.executable, "-c", _MEMORY_ERROR_CHILD], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == ["MemoryError", "True", "True"]
