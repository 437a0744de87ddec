"""Results, statistics and the administrator's Match page (issue 12: M5, M6, M8) in headless
Chromium against the local stack.

Season: program 401 with tracks 4011 (1 position) and 4012 (1 position, ranked by nobody);
applicants R0 and R1 both rank 4011, which ranks R0 then R1 -> R0 matches 4011, R1 does not;
4012 stays open through MPII (nobody ranks there) and is on the Post-Match list (M8).
The pages show: nothing before Match Status Day; matched or not on that day; the track and the
explanation lines on Match Day; the run's steps, the statistics (equal to the API's) with the CSV
download and the seal on the administrator's page; the unfilled track on the Post-Match list.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from .test_match_e2e import Season, wait_for
from .test_pages_e2e import browser, sign_in, tabs, wait_for_notice  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e


def signed_in(tab, session, email: str, hash_: str):
    """The browser signed in with the account's token (as the sign-in form stores it)."""
    page = tab.goto("/#/directory")
    token = session.headers["Authorization"].removeprefix("Bearer ")
    page.evaluate(f"sessionStorage.setItem('caspr.token', {json.dumps(token)});"
                  f"sessionStorage.setItem('caspr.email', {json.dumps(email)})")
    page.goto(f"{tab.base}/{hash_}")
    return page


def card_text(page, testid: str) -> str:
    page.wait_for_selector(f"[data-testid={testid}]")
    return page.locator(f"[data-testid={testid}]").first.inner_text()


def test_results_statistics_and_the_match_page(stack, tabs):  # noqa: F811 (fixture)
    s = Season(stack)
    s.without_exam_withdrawals()
    s.add_program("401", [("4011", 1), ("4012", 1)])
    R = [s.add_applicant(), s.add_applicant()]
    wait_for(lambda: len(stack.admin.get(f"{s.base}/tracks", timeout=30).json()["tracks"]) == 2,
             "the match service to learn the tracks")
    stack.at(s.cal, "rol_opens")
    s.rank(0, ["4011"])
    s.rank(1, ["4011"])
    s.program_ranks("4011", [0, 1])

    stack.at(s.cal, "rol_deadline")
    wait_for(lambda: s.step("await:match_status_day") == "waiting", "the Match round to be stored")
    emails = {n: R[n]["session"].get(f"{stack.url}/registration/applicants/{R[n]['applicant_id']}",
                                     timeout=30).json()["email"] for n in (0, 1)}

    # ---- the applicant before Match Status Day: nothing (M6)
    one = signed_in(tabs("results-r1"), R[1]["session"], emails[1], f"#/results?season={s.season}")
    wait_for_notice(one, "Your result is not released yet.")
    assert "confidential" in card_text(one, "results-card")
    assert one.locator("[data-testid=status]").count() == 0
    assert "4011" not in one.locator("[data-testid=results-card]").inner_text()
    seal = stack.admin.get(f"{s.base}/audit", timeout=30).json()["rounds"][0]
    assert one.locator("[data-testid=seal] [data-round=match] [data-testid=snapshot-sha256]").inner_text() == \
        seal["snapshot_sha256"]
    assert "caspr-match verify" in one.locator("[data-testid=verify-how]").inner_text()

    # ---- the administrator's Match page: the run's steps, the statistics, the CSV, the audit
    admin = tabs("match-admin")
    sign_in(admin, stack.admin_email, stack.admin_password)
    page = admin.goto(f"/#/match-admin?season={s.season}")
    page.wait_for_selector("[data-testid=run-step][data-step='await:match_status_day'][data-status=waiting]")
    run = s.run()
    assert page.locator("[data-testid=run-id]").inner_text() == run["run_id"]
    shown = page.locator("[data-testid=run-step]").evaluate_all("rows => rows.map(r => [r.dataset.step, r.dataset.status])")
    assert shown == [[st["step"], st["status"]] for st in run["steps"]]
    page.locator("[data-testid=start-run]").click()  # a second start: the same run (M4)
    wait_for_notice(page, "The run was already started.")

    stats = stack.admin.get(f"{s.base}/statistics", timeout=30).json()["rounds"][0]
    assert (stats["positions_offered"], stats["positions_filled"], stats["applicants_ranked"],
            stats["applicants_matched"], stats["choices"]["1"]) == (2, 1, 2, 1, 1)
    match = page.locator("[data-testid=round-statistics][data-round=match]")
    for testid, key in (("positions-offered", "positions_offered"), ("positions-filled", "positions_filled"),
                        ("applicants-ranked", "applicants_ranked"), ("applicants-matched", "applicants_matched")):
        assert match.locator(f"[data-testid={testid}]").inner_text() == str(stats[key]), testid
    assert match.locator("[data-testid=fill-rate]").inner_text() == "50.0%"
    assert match.locator("[data-testid=match-rate]").inner_text() == "50.0%"
    bars = match.locator("[data-testid=fill-chart] g").evaluate_all(
        "gs => gs.map(g => [g.dataset.label, Number(g.dataset.value)])")
    assert bars == [[t["track_code"], t["filled"]] for t in stats["tracks"]] == [["4011", 1], ["4012", 0]]
    assert match.locator("[data-testid=choice-chart] g").first.get_attribute("data-value") == "1"
    assert match.locator("[data-track='4012'] [data-testid=ranking]").inner_text() == "0"
    with page.expect_download() as download:
        page.locator("[data-testid=download-statistics-csv]").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert [(r["round"], r["track_code"], r["filled"], r["unfilled"]) for r in rows] == [
        ("match", "4011", "1", "0"), ("match", "4012", "0", "1")]
    assert download.value.suggested_filename == f"caspr-{s.season}-statistics-tracks.csv"
    audit = page.locator("[data-testid=audit-card]")
    assert audit.locator("[data-round=match] [data-testid=result-sha256]").inner_text() == seal["result_sha256"]
    with page.expect_download() as download:
        audit.locator("[data-testid=download-match-snapshot]").click()
    assert hashlib.sha256(open(download.value.path(), "rb").read()).hexdigest() == seal["snapshot_sha256"]
    # a file over the response limit: the API answers 303 to a presigned S3 URL, which the page follows
    # (the limit lowered for this one download, on the stack's own wiring of the match service)
    from match import bootstrap

    wired = bootstrap.container()
    limit, wired.audit_inline_max = wired.audit_inline_max, 0
    try:
        assert stack.admin.get(f"{s.base}/audit/match/result", allow_redirects=False, timeout=30).status_code == 303
        with page.expect_download() as download:
            audit.locator("[data-testid=download-match-result]").click()
        assert hashlib.sha256(open(download.value.path(), "rb").read()).hexdigest() == seal["result_sha256"]
    finally:
        wired.audit_inline_max = limit

    # ---- Match Status Day: matched or not, no track yet (M5)
    stack.at(s.cal, "match_status_day")
    wait_for(lambda: s.my_result(R[0]["session"]).status_code == 200, "the status release")
    zero = signed_in(tabs("results-r0"), R[0]["session"], emails[0], f"#/results?season={s.season}")
    zero.wait_for_selector("[data-testid=results-card][data-released=status]")
    assert zero.locator("[data-testid=match-result] [data-testid=status]").inner_text() == "Matched"
    assert zero.locator("[data-testid=match-result] [data-testid=track]").count() == 0
    assert "4011" not in zero.locator("[data-testid=results-card]").inner_text()
    wait_for_notice(zero, "Explanations come on Match Day.")
    one.reload()
    one.wait_for_selector("[data-testid=results-card][data-released=status]")
    assert one.locator("[data-testid=match-result] [data-testid=status]").inner_text() == "Not matched"

    # ---- Match Day: the track, the explanation lines, the program's matched applicant, the Post-Match list
    stack.at(s.cal, "match_day")
    wait_for(lambda: (s.run() or {}).get("status") == "SUCCEEDED", "the run to succeed")
    zero.reload()
    zero.wait_for_selector("[data-testid=results-card][data-released=results]")
    assert "track 4011" in zero.locator("[data-testid=match-result] [data-testid=track]").inner_text()
    assert "first choice" in zero.locator("[data-testid=explanations]").inner_text()
    one.reload()
    one.wait_for_selector("[data-testid=results-card][data-released=results]")
    lines = one.locator("[data-testid=explanation-line]").all_inner_texts()
    api_lines = R[1]["session"].get(f"{s.base}/applicants/me/explanation", timeout=30).json()["rounds"][0]["lines"]
    assert len(lines) == len(api_lines) == 1
    assert "4011" in lines[0] and "filled all its positions with applicants it ranked above you" in lines[0]
    # R1 took part in MPII (M7: unmatched, registered) and ranked nothing there
    assert one.locator("[data-testid=mpii-result] [data-testid=status]").inner_text() == "Not matched"

    program = signed_in(tabs("program-results"), s.programs["401"], "program@test.caspr",
                        f"#/program-results?season={s.season}")
    program.wait_for_selector("[data-testid=program-results][data-released=results]")
    assert program.locator("[data-track='4011'] [data-testid=matched-applicant]").all_inner_texts() == [
        f"Ada Applicant0 (code {R[0]['code']}) · {emails[0]}"]
    assert program.locator("[data-track='4012'] [data-testid=unfilled]").inner_text().startswith("1")
    assert "Match: 1 of 1 filled." in program.locator("[data-track='4011'] [data-testid=track-explanation]").first.inner_text()

    one.goto(f"{stack.url}/#/post-match?season={s.season}")
    one.wait_for_selector("[data-testid=open-track]")
    assert one.locator("[data-testid=open-track]").evaluate_all(
        "rows => rows.map(r => [r.dataset.track, r.querySelector('[data-testid=open-positions]').textContent])") == [
        ["4012", "1"]]


def test_the_match_page_starts_the_run_and_follows_its_steps(stack, tabs):  # noqa: F811 (fixture)
    """No certified list: the run does not start by itself at rol_deadline (M4); the administrator
    starts it on the page, which polls its steps and shows the statistics once the result is stored."""
    s = Season(stack)
    s.without_exam_withdrawals()
    s.add_program("402", [("4021", 2)])
    wait_for(lambda: len(stack.admin.get(f"{s.base}/tracks", timeout=30).json()["tracks"]) == 1,
             "the match service to learn the track")
    stack.at(s.cal, "rol_deadline")
    assert s.run() is None
    admin = tabs("match-admin-start")
    sign_in(admin, stack.admin_email, stack.admin_password)
    page = admin.goto(f"/#/match-admin?season={s.season}")
    page.wait_for_selector("[data-testid=no-run]")
    wait_for_notice(page, "No statistics yet.")
    page.locator("[data-testid=start-run]").click()
    wait_for_notice(page, "The Match run started.")
    # followed without a reload: the steps as GET runs/{id} reports them, then the stored result's figures
    page.wait_for_selector("[data-testid=run-step][data-step='await:match_status_day'][data-status=waiting]",
                           timeout=120_000)
    assert page.locator("[data-testid=run-id]").inner_text() == s.run()["run_id"]
    page.wait_for_selector("[data-testid=round-statistics][data-round=match]", timeout=30_000)
    match = page.locator("[data-testid=round-statistics][data-round=match]")
    assert match.locator("[data-testid=positions-offered]").inner_text() == "2"
    assert match.locator("[data-testid=applicants-ranked]").inner_text() == "0"
    assert match.locator("[data-testid=fill-rate]").inner_text() == "0.0%"
