"""``caspr-match``: run or check the Match on a snapshot file (M2, M3, M4).

    caspr-match solve SNAPSHOT.json [-o RESULT.json]
    caspr-match verify SNAPSHOT.json RESULT.json [--snapshot-sha256 HEX] [--result-sha256 HEX] [--no-rerun]

``solve`` runs applicant-proposing deferred acceptance, checks its own result
with the independent verifier, and writes the RESULT in canonical JSON (to
stdout without ``-o``; with ``-o`` the file is replaced atomically). A result
the verifier rejects is never written.

``verify`` checks RESULT against SNAPSHOT: a valid, stable matching of exactly this snapshot
(its ``snapshot_sha256``), and, unless ``--no-rerun``, the very result the engine computes when
run again on SNAPSHOT (M2's applicant-optimal matching, M4 reproducible). An auditor checks the
files an administrator downloaded (``GET /match/seasons/{season}/audit/{round}/snapshot`` and
``/result``) against the seal published at ``GET /match/seasons/{season}/audit``:
``--snapshot-sha256`` is compared with the snapshot's SHA-256 (of its canonical JSON, which is
the exact bytes of the downloaded file), ``--result-sha256`` with the SHA-256 of the result
file's bytes. Both files' SHA-256 are printed.

Exit status: 0 success (``verify``: the result is a valid stable matching of
this snapshot); 1 violations found (listed on stdout, one a line); 2 input
that cannot be read or is malformed, with a one-line ``error: ...`` message on
stderr naming the entry, or a usage error. ``-`` reads SNAPSHOT from stdin.
The file formats and the definition of ``snapshot_sha256`` are documented in
:mod:`match.domain.snapshot`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile

from match.domain.engine import solve
from match.domain.snapshot import (
    Result,
    Snapshot,
    SnapshotError,
    dumps_result,
    gc_paused,
    loads_json,
    loads_snapshot,
    parse_result,
    parse_snapshot,
    snapshot_sha256,
)
from match.domain.verify import verify

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2


class _InputError(Exception):
    """Unreadable or malformed input: message for stderr, exit 2."""


def _read(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise _InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _decode(path: str) -> object:
    data = _read(path)
    try:
        return loads_json(data)
    except SnapshotError as exc:
        raise _InputError(f"{path}: {exc}") from None


def _load_snapshot(path: str) -> Snapshot:
    data = _read(path)
    with gc_paused():
        try:
            return loads_snapshot(data)  # the fast reader; on a fault, read again below to name it
        except SnapshotError:
            pass
        try:
            doc = loads_json(data)
        except SnapshotError as exc:
            raise _InputError(f"{path}: {exc}") from None
        try:
            return parse_snapshot(doc)
        except SnapshotError as exc:  # the message names the entry: applicants["12345"][2]: ...
            raise _InputError(str(exc)) from None


def _load_result(path: str, snapshot: Snapshot) -> Result:
    with gc_paused():
        doc = _decode(path)
        try:
            return parse_result(doc, snapshot)
        except SnapshotError as exc:
            raise _InputError(str(exc)) from None


def _write(path: str | None, data: bytes) -> None:
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".caspr-match-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise _InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _report(violations: list[str]) -> None:
    print(f"FAIL: {len(violations)} violation(s)")
    for line in violations:
        print(f"  {line}")


def _cmd_solve(args: argparse.Namespace) -> int:
    snapshot = _load_snapshot(args.snapshot)
    result = solve(snapshot)
    violations = verify(snapshot, result)
    if violations:  # never publish an unverified result (M2)
        _report(violations)
        return EXIT_VIOLATIONS
    _write(args.output, dumps_result(result))
    if args.output not in (None, "-"):
        matched = sum(1 for track in result.matches.values() if track is not None)
        print(
            f"OK: {matched} of {len(result.matches)} applicants matched, "
            f"{sum(result.unfilled.values())} positions unfilled; wrote {args.output}",
            file=sys.stderr,
        )
    return EXIT_OK


def _hex(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise _InputError(f"{option}: expected 64 hex digits, got {value!r}")
    return value


def _cmd_verify(args: argparse.Namespace) -> int:
    want_snapshot = _hex(args.snapshot_sha256, "--snapshot-sha256")
    want_result = _hex(args.result_sha256, "--result-sha256")
    snapshot = _load_snapshot(args.snapshot)
    result = _load_result(args.result, snapshot)
    violations = verify(snapshot, result)
    sealed = snapshot_sha256(snapshot)
    snapshot_file = hashlib.sha256(_read(args.snapshot)).hexdigest() if args.snapshot != "-" else None
    result_file = hashlib.sha256(_read(args.result)).hexdigest()
    if want_snapshot is not None and sealed != want_snapshot:
        violations.append(f"the snapshot's SHA-256 is {sealed}, not the published {want_snapshot}: "
                          "this is not the sealed snapshot")
    if want_result is not None and result_file != want_result:
        violations.append(f"the result file's SHA-256 is {result_file}, not the published {want_result}: "
                          "this is not the stored result")
    if not args.no_rerun:
        again = solve(snapshot)
        if dict(again.matches) != dict(result.matches) or dict(again.unfilled) != dict(result.unfilled):
            differ = sum(1 for code, track in again.matches.items() if result.matches.get(code) != track)
            violations.append(f"a re-run of the engine on this snapshot gives another result ({differ} "
                              "applicant(s) matched differently): not the Match's result")
    if violations:
        _report(violations)
        return EXIT_VIOLATIONS
    matched = sum(1 for track in result.matches.values() if track is not None)
    print(
        f"OK: stable matching; {matched} of {len(result.matches)} applicants matched, "
        f"{sum(result.unfilled.values())} positions unfilled; snapshot_sha256 {result.snapshot_sha256}"
    )
    same = "" if snapshot_file in (None, sealed) else " (the file is not in canonical form; its content is)"
    print(f"  snapshot SHA-256 {sealed}{same}"
          + (" = the published seal" if want_snapshot else ""))
    print(f"  result file SHA-256 {result_file}" + (" = the published result_sha256" if want_result else ""))
    print("  re-run of the engine on the snapshot: the same result" if not args.no_rerun
          else "  re-run skipped (--no-rerun): stability checked only")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caspr-match",
        description="Run (solve) or check (verify) the CASPR Match on a snapshot of rank order lists.",
        epilog="exit status: 0 ok, 1 violations found, 2 unreadable or malformed input / usage error",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{solve,verify}")
    p_solve = sub.add_parser("solve", help="compute the applicant-optimal stable matching (M2, M3)")
    p_solve.add_argument("snapshot", metavar="SNAPSHOT.json", help="snapshot file, or - for stdin")
    p_solve.add_argument(
        "-o", "--output", metavar="RESULT.json", help="write the result here (default: stdout)"
    )
    p_solve.set_defaults(run=_cmd_solve)
    p_verify = sub.add_parser("verify", help="check that a result is a stable matching of the snapshot")
    p_verify.add_argument("snapshot", metavar="SNAPSHOT.json", help="snapshot file, or - for stdin")
    p_verify.add_argument("result", metavar="RESULT.json", help="result file")
    p_verify.add_argument("--snapshot-sha256", metavar="HEX",
                          help="the published seal (GET /match/seasons/{season}/audit): must be the snapshot's SHA-256")
    p_verify.add_argument("--result-sha256", metavar="HEX",
                          help="the published result_sha256: must be the SHA-256 of RESULT's bytes")
    p_verify.add_argument("--no-rerun", action="store_true",
                          help="only check stability; do not require the engine's own result")
    p_verify.set_defaults(run=_cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return args.run(args)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
