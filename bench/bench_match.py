"""Benchmark of the Match engine (M2): speed, memory, and the PyPI ``matching`` library.

    python bench/bench_match.py [--sizes 1k,10k,45k] [--repeat 5] [--no-library]

Per size (instances from ``bench/instances.py``, seeded) it prints:

* ``end-to-end``: read the snapshot file -> parse/validate (``loads_snapshot``:
  the compiled reader for regular files, json + the Python parser otherwise) ->
  solve -> verify (independent verifier) -> write the result file, with the
  stage breakdown. Each run is a fresh process (as a Match run is in
  production: one task, one process) that times the pipeline from the inside,
  so interpreter start-up and imports are excluded;
* ``solve``: the ``engine.solve(snapshot)`` stage of those runs: it includes
  the snapshot hash (snapshot_sha256, computed once per Snapshot and reused by
  the verifier); ``DA only`` is a second ``solve`` call in the same process
  with the hash already known: the deferred-acceptance run plus building the
  Result;
* ``baseline``: the same pipeline on the pure-Python reference code (json +
  parse_snapshot, ``solve_reference``, the Python writer) on the same file in the
  same run, and how many times faster the production pipeline is;
* ``peak mem``: the process's peak resident set (VmHWM from /proc, the whole
  interpreter included) during an end-to-end run, and separately the peak of
  Python allocations traced by ``tracemalloc`` during one such pass (untimed);
  plus the wall time of ``caspr-match solve -o`` as a command (start-up included);
* at 1k and 10k: the ``matching`` library (HospitalResident.create_from_dictionaries
  (...).solve(optimal="resident")) on the same instance, after asserting it finds
  the same matching, against our read + solve from the snapshot file's bytes
  (the library gets its dicts ready-made, so ours does strictly more work).

Times are the median (and best) of ``--repeat`` runs. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "services" / "match"))  # runs without an install too

from instances import SIZES, entries, generate  # noqa: E402

from match.domain.engine import IMPLEMENTATION, solve, solve_reference  # noqa: E402
from match.domain.snapshot import Snapshot, dumps_result, gc_paused, loads_snapshot  # noqa: E402
from match.domain.verify import verify  # noqa: E402

GOALS = {"e2e_45k": 1.0, "solve_45k": 0.25, "mem_45k_mb": 300.0, "speedup_10k": 250.0}
LIBRARY_SIZES = ("1k", "10k")


def end_to_end(src: Path, dst: Path, native: bool = True) -> tuple[dict[str, float], Snapshot, object]:
    """The production path, stage by stage: file -> parse -> solve -> verify -> file.

    ``native=False`` runs the same pipeline on the pure-Python reference code
    (json + parse_snapshot, solve_reference, the Python writer): the baseline the
    compiled inner loops are measured against.
    """
    clock = time.perf_counter
    t0 = clock()
    with gc_paused():
        data = src.read_bytes()
        t1 = clock()
        snap = loads_snapshot(data, native=native)  # JSON text -> validated Snapshot
        del data
        t2 = clock()
        result = solve(snap) if native else solve_reference(snap)
        t3 = clock()
        violations = verify(snap, result)
        t4 = clock()
        if violations:
            raise AssertionError(f"verifier rejected the result: {violations[:3]}")
        dst.write_bytes(dumps_result(result, native=native))
        t5 = clock()
    stages = {
        "read": t1 - t0,
        "parse": t2 - t1,
        "solve": t3 - t2,
        "verify": t4 - t3,
        "write": t5 - t4,
        "total": t5 - t0,
    }
    return stages, snap, result


def _load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average n/a"


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms" if seconds < 10 else f"{seconds:8.2f} s "


def summary(values: list[float]) -> str:
    return f"{fmt(statistics.median(values))} (best {fmt(min(values)).strip()})"


def library_input(snap: Snapshot) -> tuple[dict, dict, dict]:
    """The instance reduced to what ``matching`` accepts (see tests/match/test_match_properties.py)."""
    open_tracks = {t for t, tr in snap.tracks.items() if tr.positions > 0 and t not in snap.withdrawn}
    residents = {}
    for a, prefs in snap.applicants.items():
        if a in snap.withdrawn:
            continue
        mutual = [t for t in prefs if t in open_tracks and a in snap.tracks[t].rank_of]
        if mutual:
            residents[a] = mutual
    listed = {a: set(p) for a, p in residents.items()}
    hospitals = {t: [a for a in snap.tracks[t].ranks if a in listed and t in listed[a]] for t in open_tracks}
    hospitals = {t: ranks for t, ranks in hospitals.items() if ranks}
    return residents, hospitals, {t: snap.tracks[t].positions for t in hospitals}


def run_library(snap: Snapshot) -> tuple[float, dict]:
    """Time HospitalResident.create_from_dictionaries(...).solve(optimal="resident")."""
    from matching.games import HospitalResident

    residents, hospitals, capacities = library_input(snap)
    box: dict = {}

    def work() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            game = HospitalResident.create_from_dictionaries(residents, hospitals, capacities)
            matching = game.solve(optimal="resident")
            box["seconds"] = time.perf_counter() - start
        box["matches"] = {r.name: h.name for h, held in matching.items() for r in held}

    # The library deep-copies its player graph recursively: give it room.
    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(1_000_000)
    threading.stack_size(1 << 29)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if "seconds" not in box:
        raise RuntimeError("the matching library failed (see the thread's traceback above)")
    matches = dict.fromkeys(snap.applicants)
    matches.update(box["matches"])
    return box["seconds"], matches


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "services" / "match"), env.get("PYTHONPATH", "")])
    return env


def _vm_hwm_mb() -> float | None:
    """Peak resident set of this process (Linux /proc), in MB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def child(mode: str, src: Path, dst: Path) -> None:
    """Run inside a fresh process: one end-to-end pass, report JSON on stdout."""
    if mode in ("e2e", "e2e-reference"):
        native = mode == "e2e"
        cpu = time.process_time()
        stages, snap, result = end_to_end(src, dst, native=native)
        stages["cpu"] = time.process_time() - cpu
        t = time.perf_counter()
        again = solve(snap) if native else solve_reference(snap)
        stages["da_only"] = time.perf_counter() - t
        assert again == result
        stages["vm_hwm_mb"] = _vm_hwm_mb()
    else:  # tracemalloc
        tracemalloc.start()
        end_to_end(src, dst)
        stages = {"traced_peak_mb": tracemalloc.get_traced_memory()[1] / 1e6}
        tracemalloc.stop()
    sys.stdout.write(json.dumps(stages))
    sys.stdout.flush()
    os._exit(0)  # skip freeing a million objects at exit: not part of the measurement


def in_child(mode: str, src: Path, dst: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(src), str(dst)],
        env=_child_env(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stderr.decode()}")
    return json.loads(proc.stdout)


def cli_wall(src: Path, dst: Path) -> float:
    """Wall time of `python -m match.cli solve SRC -o DST` (start-up, imports and exit included)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "match.cli", "solve", str(src), "-o", str(dst)],
        env=_child_env(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"caspr-match solve failed: {proc.stderr.decode()}")
    return time.perf_counter() - start


def bench_size(label: str, repeat: int, with_library: bool, workdir: Path) -> dict:
    n_apps, n_tracks = SIZES[label]
    doc = generate(n_apps, n_tracks)
    n_entries = entries(doc)
    src = workdir / f"snapshot-{label}.json"
    dst = workdir / f"result-{label}.json"
    src.write_text(json.dumps(doc))
    print(
        f"\n== {label}: {n_apps:,} applicants, {n_tracks:,} tracks, {n_entries:,} applicant list entries, "
        f"{src.stat().st_size / 1e6:.1f} MB snapshot file"
    )
    out: dict = {"label": label}

    runs = [in_child("e2e", src, dst) for _ in range(repeat)]
    solve_times = [r["solve"] for r in runs]
    totals = [r["total"] for r in runs]
    out["solve"] = statistics.median(solve_times)
    out["e2e"] = statistics.median(totals)
    print(f"solve        {summary(solve_times)}   incl. snapshot_sha256")
    print(f"  DA only    {summary([r['da_only'] for r in runs])}   (hash already known)")
    print(f"end-to-end   {summary(totals)}   (CPU time {summary([r['cpu'] for r in runs]).strip()})")
    keys = ("read", "parse", "solve", "verify", "write")

    def stages(rs: list[dict]) -> str:
        return "  ".join(f"{k} {statistics.median([r[k] for r in rs]) * 1000:.0f}" for k in keys)

    print(f"  stages ms  {stages(runs)}")
    reference = [in_child("e2e-reference", src, dst) for _ in range(max(1, repeat // 2))]
    ref_total = statistics.median([r["total"] for r in reference])
    ref_solve = statistics.median([r["solve"] for r in reference])
    print(
        f"baseline     pure-Python reference pipeline (same file, same run): end-to-end {fmt(ref_total).strip()}, "
        f"solve {fmt(ref_solve).strip()}; ours {ref_total / out['e2e']:.1f}x / {ref_solve / out['solve']:.1f}x faster"
    )
    print(f"  stages ms  {stages(reference)}")

    hwm = [r["vm_hwm_mb"] for r in runs if r.get("vm_hwm_mb") is not None]
    traced = in_child("tracemalloc", src, dst)["traced_peak_mb"]
    out["mem_mb"] = max(hwm) if hwm else traced
    if hwm:
        print(
            f"peak mem     {max(hwm):8.1f} MB peak RSS of the end-to-end process (VmHWM, interpreter included)"
        )
    print(f"  traced     {traced:8.1f} MB peak of Python allocations (tracemalloc, one end-to-end pass)")
    print(
        f"CLI command  {fmt(cli_wall(src, dst))}   `caspr-match solve SNAPSHOT -o RESULT` wall time, start-up included"
    )

    if with_library and label in LIBRARY_SIZES:
        data = src.read_bytes()
        snap = loads_snapshot(data)
        ours_times = []
        for _ in range(repeat):
            gc.collect()
            t = time.perf_counter()
            fresh = loads_snapshot(data)  # from the snapshot file's bytes: JSON parsing included
            ours = solve(fresh)
            ours_times.append(time.perf_counter() - t)
            del fresh
        theirs_seconds, theirs = run_library(snap)
        assert theirs == ours.matches, "the matching library found a different matching"
        ours_median = statistics.median(ours_times)
        out["speedup"] = theirs_seconds / ours_median
        print(
            f"matching lib {fmt(theirs_seconds)}   same matching asserted (it gets ready-made dicts); ours (snapshot bytes -> parse -> solve) "
            f"{fmt(ours_median).strip()}: ours/theirs = {ours_median / theirs_seconds:.5f}, "
            f"{theirs_seconds / ours_median:,.0f}x faster"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,10k,45k", help="comma-separated subset of " + ",".join(SIZES))
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (default 5)")
    parser.add_argument("--no-library", action="store_true", help="skip the matching library comparison")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, src, dst = args.child
        child(mode, Path(src), Path(dst))
    labels = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in labels if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")

    print(
        f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); engine {IMPLEMENTATION}; "
        f"repeat={args.repeat}; {_load()}"
    )
    results = {}
    with tempfile.TemporaryDirectory(prefix="caspr-bench-") as tmp:
        for label in labels:
            results[label] = bench_size(label, args.repeat, not args.no_library, Path(tmp))

    print(f"\n== goals ({_load()}; other processes on the machine slow every figure down)")
    checks = []
    if "45k" in results:
        r = results["45k"]
        checks += [
            ("45k end-to-end <= 1.0 s", r["e2e"], r["e2e"] <= GOALS["e2e_45k"], f"{r['e2e']:.3f} s"),
            ("45k solve <= 0.25 s", r["solve"], r["solve"] <= GOALS["solve_45k"], f"{r['solve']:.3f} s"),
            (
                "45k peak memory <= 300 MB",
                r["mem_mb"],
                r["mem_mb"] <= GOALS["mem_45k_mb"],
                f"{r['mem_mb']:.0f} MB",
            ),
        ]
    if "speedup" in results.get("10k", {}):
        s = results["10k"]["speedup"]
        checks.append(("10k >= 250x faster than matching", s, s >= GOALS["speedup_10k"], f"{s:,.0f}x"))
    for name, _, ok, shown in checks:
        print(f"{'met   ' if ok else 'MISSED'} {name:38s} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
