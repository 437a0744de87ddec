"""``caspr-match`` command line: solve / verify, exit codes 0 / 1 / 2 (M2, M3, M4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from match.cli import main

SNAPSHOT = {
    "applicants": {
        "12345": ["1001", "1002"],
        "23456": ["1001"],
        "34567": ["1002", "1001"],
        "45678": ["1002"],
    },
    "tracks": {
        "1001": {"positions": 1, "ranks": ["23456", "12345", "34567"]},
        "1002": {"positions": 2, "ranks": ["12345", "34567", "45678"]},
    },
    "withdrawn": ["45678"],
}


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "match.cli", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def files(tmp_path):
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(SNAPSHOT, indent=2))
    return tmp_path, snap


def write(path, obj) -> str:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


def test_m2_solve_prints_canonical_result_on_stdout(files):
    _, snap = files
    proc = cli("solve", str(snap))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["matches"] == {"12345": "1002", "23456": "1001", "34567": "1002", "45678": None}
    assert doc["unfilled"] == {"1001": 0, "1002": 0}
    assert len(doc["snapshot_sha256"]) == 64
    assert proc.stdout == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def test_m4_solve_twice_gives_identical_bytes_and_verify_accepts(files):
    tmp, snap = files
    out1, out2 = tmp / "r1.json", tmp / "r2.json"
    assert cli("solve", str(snap), "-o", str(out1)).returncode == 0
    assert cli("solve", str(snap), "--output", str(out2)).returncode == 0
    assert out1.read_bytes() == out2.read_bytes()
    proc = cli("verify", str(snap), str(out1))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(b"OK")
    assert not list(tmp.glob(".caspr-match-*"))  # no temp file left behind


def test_m2_solve_reads_stdin(files):
    _, snap = files
    proc = cli("solve", "-", stdin=snap.read_bytes())
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["matches"]["23456"] == "1001"


def test_m2_verify_reports_violations_with_exit_1(files):
    tmp, snap = files
    result = json.loads(cli("solve", str(snap)).stdout)
    result["matches"]["23456"] = None  # 1001 loses its holder: a blocking pair and a wrong count
    result["matches"]["45678"] = "1002"  # withdrawn, and 1002 now over capacity
    proc = cli("verify", str(snap), write(tmp / "bad.json", result))
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert out.startswith("FAIL: ")
    assert 'blocking pair: applicant "23456" and track "1001"' in out
    assert 'applicant "45678" matched to track "1002": the applicant is withdrawn' in out
    assert 'track "1002" holds 3 applicants but has 2 positions' in out
    assert 'unfilled["1001"] is 0, expected 1' in out
    assert b"Traceback" not in proc.stderr


def test_m4_verify_refuses_a_result_of_another_snapshot(files):
    tmp, snap = files
    result = cli("solve", str(snap)).stdout
    other = dict(SNAPSHOT, withdrawn=[])
    proc = cli("verify", write(tmp / "other.json", other), write(tmp / "r.json", result.decode()))
    assert proc.returncode == 1
    assert b"snapshot_sha256" in proc.stdout


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        (
            {"applicants": {"12345": ["1001", "1002", "9999"]}, "tracks": SNAPSHOT["tracks"]},
            'error: applicants["12345"][2]: unknown track "9999"',
        ),
        (
            {
                "applicants": {"12345": ["1001"]},
                "tracks": {"1001": {"positions": 1, "ranks": ["12345", "99999"]}},
            },
            'error: tracks["1001"].ranks[1]: unknown applicant "99999"',
        ),
        (
            {"applicants": {"12345": ["1001", "1001"]}, "tracks": {"1001": {"positions": 1, "ranks": []}}},
            'error: applicants["12345"][1]: duplicate track "1001"',
        ),
        (
            {"applicants": {}, "tracks": {"1001": {"positions": -2, "ranks": []}}},
            'error: tracks["1001"].positions: must be a non-negative integer, got -2',
        ),
        (
            {"applicants": {}, "tracks": {"1001": {"positions": 2.5, "ranks": []}}},
            'error: tracks["1001"].positions: must be a non-negative integer, got 2.5',
        ),
        ({"applicants": {}}, 'error: snapshot: missing key "tracks"'),
        (
            {"applicants": {"1": "x"}, "tracks": {}},
            'error: applicants["1"]: expected an array of track codes',
        ),
        ([1, 2], "error: snapshot: expected an object, got an array"),
        ("{not json", "not valid JSON"),
        ('{"applicants": {}, "tracks": {}, "tracks": {}}', 'duplicate key "tracks"'),
    ],
)
@pytest.mark.parametrize("command", ["solve", "verify"])
def test_m2_malformed_snapshot_exits_2_naming_the_entry(files, snapshot, message, command):
    tmp, _ = files
    path = write(tmp / "bad.json", snapshot)
    args = ["solve", path] if command == "solve" else ["verify", path, path]
    proc = cli(*args)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert proc.stdout == b""


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ("", "not valid JSON"),
        ({"matches": {}, "unfilled": {}}, 'error: result: missing key "snapshot_sha256"'),
        (
            {"matches": {"12345": 7}, "unfilled": {}, "snapshot_sha256": "0" * 64},
            'error: matches["12345"]: expected',
        ),
    ],
)
def test_m2_malformed_result_exits_2(files, result, message):
    tmp, snap = files
    proc = cli("verify", str(snap), write(tmp / "r.json", result))
    assert proc.returncode == 2
    assert message in proc.stderr.decode()
    assert b"Traceback" not in proc.stderr


def test_m2_unreadable_files_exit_2(files):
    tmp, snap = files
    proc = cli("solve", str(tmp / "missing.json"))
    assert proc.returncode == 2
    assert b"error: cannot read" in proc.stderr and b"missing.json" in proc.stderr
    proc = cli("verify", str(snap), str(tmp))  # a directory
    assert proc.returncode == 2 and b"error: cannot read" in proc.stderr
    assert b"Traceback" not in proc.stderr
    proc = cli("solve", str(snap), "-o", str(tmp / "no" / "such" / "dir" / "r.json"))
    assert proc.returncode == 2 and b"error: cannot write" in proc.stderr


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["solve"], ["verify", "only-one.json"], ["solve", "a.json", "--bogus"]],
)
def test_m2_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage: caspr-match" in capsys.readouterr().err


def test_m2_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "solve" in capsys.readouterr().out


def test_m2_main_in_process(files, capsys):
    tmp, snap = files
    out = tmp / "r.json"
    assert main(["solve", str(snap), "-o", str(out)]) == 0
    assert main(["verify", str(snap), str(out)]) == 0
    assert capsys.readouterr().out.startswith("OK: stable matching")


def test_m2_console_script_is_installed(files):
    _, snap = files
    script = os.path.join(os.path.dirname(sys.executable), "caspr-match")
    if not os.path.exists(script):
        pytest.skip("caspr-match console script not installed in this environment")
    proc = subprocess.run([script, "solve", str(snap)], capture_output=True, check=False, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["matches"]["23456"] == "1001"


# issue 12: an auditor checks the downloaded files against the published seal
TWO_STABLE = {  # two stable matchings: the applicant-optimal one and the tracks' one
    "applicants": {"10001": ["1001", "1002"], "10002": ["1002", "1001"]},
    "tracks": {"1001": {"positions": 1, "ranks": ["10002", "10001"]},
               "1002": {"positions": 1, "ranks": ["10001", "10002"]}},
}


def test_verify_reruns_the_engine_and_refuses_another_stable_matching(tmp_path, capsys):
    import hashlib

    snap = write(tmp_path / "s.json", TWO_STABLE)
    out = tmp_path / "r.json"
    assert main(["solve", snap, "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["matches"] == {"10001": "1001", "10002": "1002"}
    other = write(tmp_path / "o.json", dict(doc, matches={"10001": "1002", "10002": "1001"}))
    capsys.readouterr()
    assert main(["verify", snap, other]) == 1  # stable, but not the Match's (applicant-optimal) result
    assert "a re-run of the engine on this snapshot gives another result (2 applicant(s)" in capsys.readouterr().out
    assert main(["verify", snap, other, "--no-rerun"]) == 0
    assert "stability checked only" in capsys.readouterr().out
    seal = hashlib.sha256(json.dumps(TWO_STABLE, sort_keys=True, separators=(",", ":")).replace(
        "}}}", '}},"withdrawn":[]}').encode()).hexdigest()
    assert seal == doc["snapshot_sha256"]  # the seal: SHA-256 of the canonical text
    result_hash = hashlib.sha256(out.read_bytes()).hexdigest()
    assert main(["verify", snap, str(out), "--snapshot-sha256", seal.upper(), "--result-sha256", result_hash]) == 0
    printed = capsys.readouterr().out
    assert f"snapshot SHA-256 {seal}" in printed and "not in canonical form" in printed  # the file was indented
    assert f"result file SHA-256 {result_hash} = the published result_sha256" in printed
    assert main(["verify", snap, str(out), "--result-sha256", "ab" * 32]) == 1
    assert "not the stored result" in capsys.readouterr().out
    assert main(["verify", snap, str(out), "--snapshot-sha256", "xyz"]) == 2
    assert "--snapshot-sha256: expected 64 hex digits" in capsys.readouterr().err
