"""Match snapshot and result documents: parsing, validation, canonical form (M2, M3, M4).

Pure Python, standard library only. Everything here is shared by the solver
(``engine``) and the independent verifier (``verify``); neither of those reads
JSON itself.

SNAPSHOT document (lists are in preference order, most preferred first)::

    {"applicants": {"<code>": ["<track>", ...]},
     "tracks": {"<track>": {"positions": <int >= 0>, "ranks": ["<code>", ...]}},
     "withdrawn": ["<applicant code or track code>", ...]}      # optional

Rules enforced by :func:`parse_snapshot` (a violation raises
:class:`SnapshotError` whose message names the offending entry, e.g.
``applicants["12345"][2]: unknown track "9999"``):

* the top level is an object with keys ``applicants`` and ``tracks`` and
  optionally ``withdrawn``; no other keys;
* codes are non-empty strings; no code is both an applicant and a track code
  (a ``withdrawn`` entry must be unambiguous);
* every entry of an applicant's list is a known track, every entry of a
  track's ``ranks`` is a known applicant, and no list holds an entry twice;
* ``positions`` is a non-negative integer (``true``/``false`` and ``2.0`` are
  refused); a track object has exactly the keys ``positions`` and ``ranks``;
* ``withdrawn`` entries are known applicant or track codes, without repeats.
  Withdrawn participants stay on everyone's lists; the run skips them (M3).

The lists need not be symmetric: a pair can only match when each side ranked
the other (mutual acceptability); a one-sided entry is legal and simply inert.

RESULT document::

    {"matches": {"<code>": "<track>" | null},   # every applicant of the snapshot
     "unfilled": {"<track>": <int>},             # every track: positions - matched
     "snapshot_sha256": "<64 lowercase hex>"}

``unfilled`` covers every track of the snapshot, including withdrawn and
zero-position tracks (a withdrawn track fills nothing, so its count is its
``positions``); whoever builds the MPII (M7) or Post-Match (M8) lists must
still leave withdrawn tracks out.

Canonical JSON and ``snapshot_sha256``
--------------------------------------
The canonical JSON of a document is ``json.dumps(doc, sort_keys=True,
separators=(",", ":"), ensure_ascii=True, allow_nan=False)`` encoded as
UTF-8 (it is pure ASCII). ``snapshot_sha256`` is the lowercase hex SHA-256 of
the canonical JSON of the *parsed* snapshot, that is of::

    {"applicants": {code: [track, ...]},                 # preference order kept
     "tracks": {track: {"positions": n, "ranks": [code, ...]}},
     "withdrawn": sorted(withdrawn)}                       # always present

so the same logical snapshot always hashes the same, whatever the key order,
whitespace or escaping of the file it came from, and whether an empty
``withdrawn`` list was written out or left away. Result files are written in
canonical JSON followed by one newline (:func:`dumps_result`), so a re-run of
the same snapshot gives the same bytes (M4).
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

try:  # the compiled inner loops (setup.py builds them); the pure-Python code below is the reference
    from . import _native
except ImportError:  # pragma: no cover - a build without a C compiler
    _native = None

__all__ = [
    "Result",
    "Snapshot",
    "SnapshotError",
    "Track",
    "canonical_json",
    "dumps_result",
    "loads_json",
    "loads_snapshot",
    "native_index",
    "parse_result",
    "parse_snapshot",
    "result_to_json",
    "snapshot_sha256",
    "snapshot_to_json",
]

_TRACK_KEYS = ("positions", "ranks")
_RESULT_KEYS = ("matches", "snapshot_sha256", "unfilled")
_HEX = frozenset("0123456789abcdef")


class SnapshotError(ValueError):
    """A snapshot or result document is malformed. The message names the entry."""


@dataclass(frozen=True, slots=True)
class Track:
    """One track of a program: its number of positions and its rank order list.

    ``rank_of`` maps each ranked applicant to its 0-based position in ``ranks``
    (0 = most preferred); it is derived from ``ranks``, never passed in.
    """

    positions: int
    ranks: tuple[str, ...]
    rank_of: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ranks = tuple(self.ranks)
        rank_of = dict(zip(ranks, range(len(ranks)), strict=True))
        if len(rank_of) != len(ranks):
            raise SnapshotError("ranks: an applicant is ranked twice")
        object.__setattr__(self, "ranks", ranks)
        object.__setattr__(self, "rank_of", rank_of)

    @classmethod
    def _validated(cls, positions: int, ranks: tuple[str, ...], rank_of: dict[str, int]) -> Track:
        """Build from parts parse_snapshot has already checked (no second pass)."""
        track = object.__new__(cls)
        object.__setattr__(track, "positions", positions)
        object.__setattr__(track, "ranks", ranks)
        object.__setattr__(track, "rank_of", rank_of)
        return track


@dataclass(frozen=True)
class Snapshot:
    """A validated snapshot of the certified rank order lists (M1) at list lock.

    Treat it as immutable: the dicts are plain dicts for speed, nothing copies them.
    """

    applicants: dict[str, tuple[str, ...]]
    tracks: dict[str, Track]
    withdrawn: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Result:
    """Outcome of a run: every applicant's track (or ``None``), unfilled positions per track."""

    matches: dict[str, str | None]
    unfilled: dict[str, int]
    snapshot_sha256: str


# ---------------------------------------------------------------------------
# helpers for messages


def _q(value: object) -> str:
    """Quote a code (or any JSON value) for a message, JSON style."""
    try:
        return json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        return repr(value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_keys(obj: dict, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    for key in obj:
        if key not in required and key not in optional:
            raise SnapshotError(f"{where}: unknown key {_q(key)}")
    for key in required:
        if key not in obj:
            raise SnapshotError(f"{where}: missing key {_q(key)}")


def _check_code_keys(obj: dict, where: str, what: str) -> None:
    try:  # fast path in C: str.join refuses anything but str
        "".join(obj)
        if "" not in obj:
            return
    except TypeError:
        pass
    for code in obj:
        if type(code) is not str or not code:
            raise SnapshotError(f"{where}[{_q(code)}]: {what} code must be a non-empty string")


def _list_fault(items: list, known, where: str, what: str) -> str | None:
    """Slow path: locate the first bad entry of ``items`` and describe it."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if type(item) is not str:
            return f"{where}[{i}]: expected a {what} code (string), got {_kind(item)} {_q(item)}"
        if item not in known:
            return f"{where}[{i}]: unknown {what} {_q(item)}"
        first = seen.get(item)
        if first is not None:
            return f"{where}[{i}]: duplicate {what} {_q(item)} (already at [{first}])"
        seen[item] = i
    return None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Parsing and solving allocate hundreds of thousands of containers, none of them
    in reference cycles; letting the collector rescan them all costs more than the
    work itself. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _not_array(items: object, where: str, what: str) -> SnapshotError:
    return SnapshotError(f"{where}: expected an array of {what} codes, got {_kind(items)}")


def _first_fault(lists: dict, known, where: str, what: str, get=None) -> SnapshotError:
    """Slow path: find the first list with a bad entry and describe that entry."""
    for code, items in lists.items():
        if get is not None:
            items = get(items)
        fault = _list_fault(items, known, f"{where}[{_q(code)}]{'.ranks' if get else ''}", what)
        if fault:
            return SnapshotError(fault)
    return SnapshotError(f"{where}: invalid list")  # pragma: no cover - the fast path said so


def _ranks_of(tobj: dict) -> object:
    return tobj["ranks"]


# ---------------------------------------------------------------------------
# snapshot


def parse_snapshot(obj: object) -> Snapshot:
    """Validate a decoded SNAPSHOT document and return a :class:`Snapshot`.

    Raises :class:`SnapshotError` naming the first offending entry.
    """
    with gc_paused():
        return _parse_snapshot(obj)


def loads_snapshot(data: bytes | str, *, native: bool = True) -> Snapshot:
    """Read a SNAPSHOT file's bytes: ``parse_snapshot(loads_json(data))``, faster.

    With ``native`` (the default) and the compiled module available, a regular
    document (plain ASCII codes, no escapes, every list valid) is read by
    ``_native.load`` straight into integer arrays, which the solver and the hash
    then use; the Snapshot's dicts are built from them. Anything else - including
    every malformed document - goes through ``loads_json`` + ``parse_snapshot``,
    which accept exactly the same documents and name the fault of the rest. The
    result is the same Snapshot either way (the tests compare the two paths).
    """
    raw = data
    if isinstance(raw, str):
        raw = raw.encode("ascii") if raw.isascii() else None  # the C reader takes plain ASCII only
    if native and _native is not None and raw is not None:
        with gc_paused():
            index = _native.load(raw)
            if index is not None:
                applicants, rows, withdrawn = _native.materialize(index)
                validated = Track._validated
                snapshot = Snapshot(
                    applicants=applicants,
                    tracks={code: validated(positions, ranks, rank_of) for code, positions, ranks, rank_of in rows},
                    withdrawn=frozenset(withdrawn),
                )
                object.__setattr__(snapshot, "_native_index", index)
                return snapshot
    return parse_snapshot(loads_json(data))


def native_index(snapshot: Snapshot) -> object | None:
    """The compiled index behind a Snapshot read by :func:`loads_snapshot` (None otherwise)."""
    return snapshot.__dict__.get("_native_index")


def _parse_snapshot(obj: object) -> Snapshot:
    # Validation runs per list in C (set / dict construction); only when a check
    # fails does a slow pass look for the entry to name in the message.
    if not isinstance(obj, dict):
        raise SnapshotError(f"snapshot: expected an object, got {_kind(obj)}")
    _check_keys(obj, "snapshot", ("applicants", "tracks"), ("withdrawn",))
    apps_obj = obj["applicants"]
    tracks_obj = obj["tracks"]
    if not isinstance(apps_obj, dict):
        raise SnapshotError(
            f"applicants: expected an object of applicant code -> track list, got {_kind(apps_obj)}"
        )
    if not isinstance(tracks_obj, dict):
        raise SnapshotError(f"tracks: expected an object of track code -> track, got {_kind(tracks_obj)}")
    _check_code_keys(apps_obj, "applicants", "applicant")
    _check_code_keys(tracks_obj, "tracks", "track")
    app_codes = set(apps_obj)
    track_codes = set(tracks_obj)
    if not app_codes.isdisjoint(track_codes):
        both = min(app_codes & track_codes)
        raise SnapshotError(f"tracks[{_q(both)}]: code is also an applicant code; codes must be unambiguous")

    applicants: dict[str, tuple[str, ...]] = {}
    listed: set = set()  # every entry of every applicant list
    for code, prefs in apps_obj.items():
        if type(prefs) is not list and type(prefs) is not tuple:
            raise _not_array(prefs, f"applicants[{_q(code)}]", "track")
        try:
            distinct = set(prefs)
        except TypeError:  # an unhashable entry
            distinct = ()
        if len(distinct) != len(prefs):
            raise _first_fault({code: prefs}, track_codes, "applicants", "track")
        listed |= distinct
        applicants[code] = tuple(prefs)
    if not listed <= track_codes:
        raise _first_fault(apps_obj, track_codes, "applicants", "track")

    tracks: dict[str, Track] = {}
    ranked: set = set()  # every entry of every rank list
    validated = Track._validated
    for code, tobj in tracks_obj.items():
        if type(tobj) is not dict or len(tobj) != 2 or "positions" not in tobj or "ranks" not in tobj:
            where = f"tracks[{_q(code)}]"
            if not isinstance(tobj, dict):
                raise SnapshotError(
                    f"{where}: expected an object with positions and ranks, got {_kind(tobj)}"
                )
            _check_keys(tobj, where, _TRACK_KEYS)
        positions = tobj["positions"]
        ranks = tobj["ranks"]
        if type(positions) is not int or positions < 0:
            raise SnapshotError(
                f"tracks[{_q(code)}].positions: must be a non-negative integer, got {_q(positions)}"
            )
        if type(ranks) is not list and type(ranks) is not tuple:
            raise _not_array(ranks, f"tracks[{_q(code)}].ranks", "applicant")
        try:
            rank_of = dict(zip(ranks, range(len(ranks)), strict=True))
        except TypeError:
            rank_of = {}
        if len(rank_of) != len(ranks):
            raise _first_fault({code: tobj}, app_codes, "tracks", "applicant", _ranks_of)
        ranked.update(rank_of)
        tracks[code] = validated(positions, tuple(ranks), rank_of)
    if not ranked <= app_codes:
        raise _first_fault(tracks_obj, app_codes, "tracks", "applicant", _ranks_of)
    return Snapshot(applicants=applicants, tracks=tracks, withdrawn=_withdrawn(obj, apps_obj, tracks_obj))


def _withdrawn(obj: dict, app_codes: dict | set, track_codes: dict | set) -> frozenset[str]:
    wd_obj = obj.get("withdrawn", [])
    if type(wd_obj) is not list:
        raise SnapshotError(f"withdrawn: expected an array of applicant or track codes, got {_kind(wd_obj)}")
    seen: dict[str, int] = {}
    for i, code in enumerate(wd_obj):
        if type(code) is not str:
            raise SnapshotError(
                f"withdrawn[{i}]: expected an applicant or track code (string), got {_kind(code)}"
            )
        if code not in app_codes and code not in track_codes:
            raise SnapshotError(f"withdrawn[{i}]: unknown applicant or track {_q(code)}")
        if code in seen:
            raise SnapshotError(f"withdrawn[{i}]: duplicate entry {_q(code)} (already at [{seen[code]}])")
        seen[code] = i
    return frozenset(seen)


def snapshot_to_json(snapshot: Snapshot) -> dict:
    """The canonical document of a snapshot (``withdrawn`` sorted and always present)."""
    return {
        "applicants": {code: list(prefs) for code, prefs in snapshot.applicants.items()},
        "tracks": {
            code: {"positions": t.positions, "ranks": list(t.ranks)} for code, t in snapshot.tracks.items()
        },
        "withdrawn": sorted(snapshot.withdrawn),
    }


def canonical_json(doc: object) -> str:
    """Canonical JSON text: sorted keys, separators ``(",", ":")``, ASCII only, no NaN."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _plain(codes: str) -> bool:
    """True when ``codes`` needs no JSON escaping (printable ASCII, no quote, no backslash)."""
    return codes.isascii() and codes.isprintable() and '"' not in codes and "\\" not in codes


def _str_list(items: tuple[str, ...] | list[str]) -> str:
    return '["' + '","'.join(items) + '"]' if items else "[]"


def _canonical_snapshot_pieces(snapshot: Snapshot) -> list[str]:
    """Pieces whose concatenation is canonical_json(snapshot_to_json(snapshot)).

    Built in C-level passes when no code needs escaping. The pieces are hashed one by
    one, so the 9 MB text of a 45k snapshot is never copied into one string.
    """
    applicants = snapshot.applicants
    tracks = snapshot.tracks
    # Every list entry is a key of applicants or tracks (parse_snapshot checks it), so
    # checking the keys checks every string of the document.
    if not (_plain("".join(applicants)) and _plain("".join(tracks))):
        return [canonical_json(snapshot_to_json(snapshot))]
    # Each entry is built by str.join over zipped columns (no per-entry Python code).
    # A code is non-empty and has no quote, so '[""]' only ever comes from an empty
    # list joined as ["" + "" + ""]: where a part has an empty list it becomes [].
    pieces = ['{"applicants":{']
    app_codes = sorted(applicants)
    if app_codes:
        lists = map('","'.join, map(applicants.__getitem__, app_codes))
        app_part = '"],"'.join(map('":["'.join, zip(app_codes, lists, strict=True)))
        if all(applicants.values()):
            pieces += ['"', app_part, '"]']
        else:
            pieces.append(f'"{app_part}"]'.replace('[""]', "[]"))
    pieces.append('},"tracks":{')
    track_codes = sorted(tracks)
    if track_codes:
        by_code = list(map(tracks.__getitem__, track_codes))
        rank_lists = [t.ranks for t in by_code]
        heads = map(
            '":{"positions":'.join, zip(track_codes, [str(t.positions) for t in by_code], strict=True)
        )
        track_part = '"]},"'.join(
            map(',"ranks":["'.join, zip(heads, map('","'.join, rank_lists), strict=True))
        )
        if all(rank_lists):
            pieces += ['"', track_part, '"]}']
        else:
            pieces.append(f'"{track_part}"]}}'.replace('[""]', "[]"))
    pieces += ['},"withdrawn":', _str_list(sorted(snapshot.withdrawn)), "}"]
    return pieces


def _canonical_snapshot_text(snapshot: Snapshot) -> str:
    """canonical_json(snapshot_to_json(snapshot)), built in C-level passes when no code needs escaping."""
    return "".join(_canonical_snapshot_pieces(snapshot))


def _snapshot_sha256_py(snapshot: Snapshot) -> str:
    """The pure-Python reference of the hash (no cache)."""
    digest = hashlib.sha256()
    for piece in _canonical_snapshot_pieces(snapshot):
        digest.update(piece.encode("ascii"))
    return digest.hexdigest()


def snapshot_sha256(snapshot: Snapshot) -> str:
    """Lowercase hex SHA-256 of the canonical JSON of the parsed snapshot (see module doc).

    Computed once per Snapshot object and remembered (a Snapshot is immutable).
    """
    cached = snapshot.__dict__.get("_sha256")
    if cached is None:
        text = None
        index = native_index(snapshot)
        if index is not None:
            text = _native.canonical_index(index)
        elif _native is not None:
            text = _native.canonical_snapshot(snapshot.applicants, snapshot.tracks, sorted(snapshot.withdrawn))
        if text is not None:
            cached = hashlib.sha256(text).hexdigest()
        else:
            cached = _snapshot_sha256_py(snapshot)
        object.__setattr__(snapshot, "_sha256", cached)
    return cached


# ---------------------------------------------------------------------------
# result


def result_to_json(result: Result) -> dict:
    """The RESULT document of a :class:`Result` (plain dicts, ready for ``json.dumps``)."""
    return {
        "matches": dict(result.matches),
        "unfilled": dict(result.unfilled),
        "snapshot_sha256": result.snapshot_sha256,
    }


def dumps_result(result: Result, *, native: bool = True) -> bytes:
    """Canonical bytes of a result file: canonical JSON plus a final newline."""
    if native and _native is not None:
        text = _native.dumps_result(result.matches, result.unfilled, result.snapshot_sha256)
        if text is not None:
            return text
    matches = result.matches
    unfilled = result.unfilled
    tracks = {track for track in matches.values() if track is not None}
    if (
        _plain("".join(matches))
        and _plain("".join(unfilled))
        and all(type(t) is str for t in tracks)
        and _plain("".join(tracks))
        and all(type(n) is int for n in unfilled.values())
        and _plain(result.snapshot_sha256)
    ):
        # Same bytes as canonical_json(result_to_json(result)), built in C-level passes.
        quoted = {track: f'"{track}"' for track in tracks}
        quoted[None] = "null"
        codes = sorted(matches)
        match_part = ',"'.join(
            map('":'.join, zip(codes, map(quoted.__getitem__, map(matches.__getitem__, codes)), strict=True))
        )
        codes = sorted(unfilled)
        unfilled_part = ',"'.join(
            map('":'.join, zip(codes, map(str, map(unfilled.__getitem__, codes)), strict=True))
        )
        text = "".join(
            [
                '{"matches":{',
                f'"{match_part}' if matches else "",
                f'}},"snapshot_sha256":"{result.snapshot_sha256}","unfilled":{{',
                f'"{unfilled_part}' if unfilled else "",
                "}}",
            ]
        )
    else:
        text = canonical_json(result_to_json(result))
    return text.encode("ascii") + b"\n"


def parse_result(obj: object, snapshot: Snapshot | None = None) -> Result:
    """Validate the *shape* of a decoded RESULT document and return a :class:`Result`.

    Raises :class:`SnapshotError` for wrong types or missing/unknown keys. Whether the
    result fits ``snapshot`` (every applicant present, known tracks, counts, stability,
    hash) is deliberately left to ``verify.verify`` so that all such problems are
    reported together as violations (exit 1 of ``caspr-match verify``) rather than
    one at a time as malformed input (exit 2). ``snapshot`` is accepted for API
    symmetry and not needed for the shape checks.
    """
    del snapshot  # referential checks belong to the verifier
    if not isinstance(obj, dict):
        raise SnapshotError(f"result: expected an object, got {_kind(obj)}")
    _check_keys(obj, "result", _RESULT_KEYS)
    matches_obj = obj["matches"]
    unfilled_obj = obj["unfilled"]
    sha = obj["snapshot_sha256"]
    if not isinstance(matches_obj, dict):
        raise SnapshotError(
            f"matches: expected an object of applicant code -> track or null, got {_kind(matches_obj)}"
        )
    if not isinstance(unfilled_obj, dict):
        raise SnapshotError(
            f"unfilled: expected an object of track code -> integer, got {_kind(unfilled_obj)}"
        )
    if type(sha) is not str or len(sha) != 64 or not _HEX.issuperset(sha):
        raise SnapshotError(f"snapshot_sha256: expected 64 lowercase hex digits, got {_q(sha)}")
    _check_code_keys(matches_obj, "matches", "applicant")
    _check_code_keys(unfilled_obj, "unfilled", "track")
    for code, track in matches_obj.items():
        if track is not None and (type(track) is not str or not track):
            raise SnapshotError(
                f"matches[{_q(code)}]: expected a track code (string) or null, got {_kind(track)} {_q(track)}"
            )
    for code, number in unfilled_obj.items():
        if type(number) is not int:
            raise SnapshotError(
                f"unfilled[{_q(code)}]: expected an integer, got {_kind(number)} {_q(number)}"
            )
    return Result(matches=dict(matches_obj), unfilled=dict(unfilled_obj), snapshot_sha256=sha)


# ---------------------------------------------------------------------------
# reading JSON text


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise SnapshotError(f"duplicate key {_q(key)} in a JSON object")
            seen.add(key)
    return obj


def _refuse_constant(name: str) -> object:
    raise SnapshotError(f"{name} is not valid JSON")


def loads_json(data: bytes | str) -> object:
    """Decode JSON text strictly: duplicate object keys and NaN/Infinity are refused.

    Raises :class:`SnapshotError` with a one-line message (position included).
    """
    try:
        return json.loads(data, object_pairs_hook=_no_duplicate_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"not valid JSON: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise SnapshotError("not valid JSON: nested too deeply") from None
    except SnapshotError:
        raise
    except ValueError as exc:  # e.g. an integer literal beyond the int-to-str digit limit
        raise SnapshotError(f"not valid JSON: {exc}") from None
