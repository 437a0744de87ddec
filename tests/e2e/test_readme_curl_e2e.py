"""Every `curl` example of the READMEs works when pasted (issue 12).

Each ```sh or ```bash block of README.md and services/*/README.md that calls `curl` runs, as
it is written, in `bash -euo pipefail` against the running local stack; every `curl` in it
must fail on an HTTP error (`-f`, `--fail` or `--fail-with-body`), so a block that exits 0 made
only 2xx requests. The only substitutions, so that the examples can run again and again on a
stack other tests share (and whose clock only moves forward):

| in the README | replaced by |
| --- | --- |
| `http://127.0.0.1:8000`, `localhost:8000` | the test stack's URL (its own free port) |
| `"season":"2024"` | a fresh season of this test, its calendar opening now |
| `ada@example.org` | a new address each run |
| `PRO-2T8P48F5H` (the CMS ID) | a new CMS ID each run |
| `"now": "<instant>"` (the clock example) | one minute after the stack's clock |
"""

from __future__ import annotations

import re
import secrets
import string
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from shared.clock import iso

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.S | re.M)
CURL = re.compile(r"\bcurl\s")
FAILS = re.compile(r"\bcurl\s[^\n]*?(?:\s-[a-zA-Z]*f[a-zA-Z]*\b|--fail\b|--fail-with-body\b)")


def readme_curl_blocks() -> list[tuple[str, str]]:
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "services").glob("*/README.md"))]:
        for block in BLOCK.findall(path.read_text()):
            if CURL.search(block):
                out.append((str(path.relative_to(ROOT)), block))
    return out


def substitute(block: str, *, url: str, season: str, email: str, cms_id: str, now: str) -> str:
    block = block.replace("http://127.0.0.1:8000", url).replace("localhost:8000", url)
    block = re.sub(r'"season":\s*"2024"', f'"season":"{season}"', block)
    block = block.replace("ada@example.org", email).replace("PRO-2T8P48F5H", cms_id)
    return re.sub(r'"now":\s*"[^"]+"', f'"now": "{now}"', block)


def test_readme_curl_examples_succeed_against_the_local_stack(stack):
    blocks = readme_curl_blocks()
    assert blocks, "no curl example found in the READMEs"
    season, _ = stack.new_season()
    email = f"readme-{uuid.uuid4().hex[:8]}@example.org"
    cms_id = "PRO-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
    for where, block in blocks:
        # a curl that does not fail on an HTTP error could hide a refusal (the 415 of old)
        calls = [line for line in block.splitlines() if CURL.search(line) and not line.lstrip().startswith("#")]
        unchecked = [line for line in calls if not FAILS.search(line)]
        assert not unchecked, f"{where}: curl without -f/--fail-with-body: {unchecked}"
        script = substitute(block, url=stack.url, season=season, email=email, cms_id=cms_id,
                            now=iso(stack.now() + timedelta(minutes=1)))
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
        assert run.returncode == 0, (f"{where}: a curl example failed (exit {run.returncode})\n--- script\n"
                                     f"{script}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}")
    registered = stack.admin.get(f"{stack.url}/registration/applicants", params={"season": season}, timeout=30).json()
    mine = [a for a in registered.get("applicants", registered.get("items", [])) if a.get("email") == email]
    assert mine and mine[0]["status"] == "registered", registered
