"""The web pages in a real headless Chromium (Debian's `chromium`, driven by playwright;
playwright's own browsers are never downloaded) against the running local stack.

An administrator sets a fresh season's calendar and registers two programs on the
administration page; an applicant signs up, registers (a wrong CMS ID is refused with
its field named, R1), is declined once and then pays the fee (R2) and sees its code
number (R3), buys credits (R4), changes its time zone (I6); the directory lists and
filters the season's programs (R8); the outbox page shows the confirmation email.
Screenshots land in /tmp/caspr-pages-*.png."""

from __future__ import annotations

import os
import random
import re
import shutil
import uuid
from datetime import timedelta

import pytest
import requests

from shared.clock import iso

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CASPR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = "/tmp"


def _chromium() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    path = _chromium()
    if path is None:
        reason = ("Debian's chromium is not installed: run `make browser` "
                  "(apt-get install -y chromium) to run the page tests")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Tab:
    """A fresh browser context (its own sessionStorage) with one page, failing the test
    on any JavaScript error."""

    def __init__(self, browser, base_url: str, name: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.base = base_url
        self.name = name
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def form(self, selector: str):
        return self.page.locator(selector)

    def shot(self, label: str) -> str:
        path = f"{SHOTS}/caspr-pages-{self.name}-{label}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def close(self):
        assert not self.errors, f"JavaScript errors on the page: {self.errors}"
        self.context.close()


@pytest.fixture
def tabs(browser, stack):
    opened: list[Tab] = []

    def open_tab(name: str) -> Tab:
        tab = Tab(browser, stack.url, name)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


def fill(form, **values):
    for name, value in values.items():
        form.locator(f"[name={name}]").fill(str(value))


def wait_for_notice(page, text: str, timeout: float = 30_000) -> None:
    """Wait for a notice with ``text``; on timeout fail with the notices the page shows instead
    (a refusal's problem text names what went wrong)."""
    try:
        page.wait_for_selector(f"text={text}", timeout=timeout)
    except Exception as exc:  # playwright's TimeoutError
        shown = page.locator(".notice").all_text_contents()
        raise AssertionError(f"the page never showed {text!r}; it shows {shown}") from exc


def sign_in(tab: Tab, email: str, password: str):
    page = tab.goto("/#/signin")
    fill(tab.form("#signin-form"), email=email, password=password)
    tab.form("#signin-form").locator("button[type=submit]").click()
    page.wait_for_function("document.getElementById('who').textContent.includes('(')")


def fresh_season(stack) -> str:
    """A season id of this module's own (e2e seasons of conftest count up from 2101)."""
    for _ in range(50):
        season = str(random.randint(2500, 2999))
        r = stack.admin.get(f"{stack.url}/registration/seasons/{season}", timeout=30)
        if r.status_code == 404:
            return season
    raise AssertionError("no free season id")


def test_pages_admin_sets_up_a_season_and_an_applicant_registers_and_pays(stack, tabs):
    season = fresh_season(stack)
    suffix = uuid.uuid4().hex[:6]

    # ---- the administrator: season calendar and two programs, through the pages --------------
    admin = tabs("admin")
    sign_in(admin, stack.admin_email, stack.admin_password)
    page = admin.page
    page.wait_for_selector("[data-testid=calendar-card]")
    assert "(admin)" in page.locator("#who").text_content()
    clock_now = stack.now()
    page.wait_for_function("!document.querySelector('[data-testid=clock-now]').textContent.includes('…')")
    shown = page.locator("[data-testid=clock-now]").text_content()
    assert shown.startswith(clock_now.strftime("%Y-%m-%dT%H:%M")), (shown, clock_now)

    calendar = admin.form("[data-testid=calendar-form]")
    calendar.locator("[name=season]").fill(season)
    calendar.get_by_role("button", name=re.compile("Fill")).click()
    page.wait_for_function("document.querySelector('[name=registration_opens]').value.endsWith('Z')")
    calendar.locator("button[type=submit]").click()
    wait_for_notice(page, f"Season {season} saved.")
    saved = stack.admin.get(f"{stack.url}/registration/seasons/{season}", timeout=30)
    assert saved.status_code == 200, saved.text
    assert set(saved.json()["calendar"]) >= {"registration_opens", "registration_final", "match_day"}

    programs = admin.form("[data-testid=program-form]")
    for code, state, coth, name in (("501", "WY", True, f"Prairie Teaching Hospital {suffix}"),
                                    ("502", "VT", False, f"Green Mountain Podiatry {suffix}")):
        fill(programs, season=season, program_code=code, name=name, city="Somewhere", state=state,
             requirements="Personal statement, CV, 3 letters", tracks=f"{code}1, PMSR/RRA, 2")
        programs.locator("[name=coth]").set_checked(coth)
        programs.locator("button[type=submit]").click()
        wait_for_notice(page, f"Program {code} registered.")
    # an edit goes through PATCH /registration/programs/{code}?season=...
    row = page.locator("[data-testid=programs-card] [data-testid=program-row][data-program-code='501']")
    row.get_by_role("button", name="Edit").click()
    assert programs.locator("[name=program_code]").is_disabled()
    programs.locator("[name=tracks]").fill("5011, PMSR/RRA, 3")
    programs.locator("button[type=submit]").click()
    wait_for_notice(page, "Program 501 saved.")
    edited = stack.admin.get(f"{stack.url}/registration/programs/501", params={"season": season}, timeout=30).json()
    assert [(t["track_code"], t["positions"]) for t in edited["tracks"]] == [("5011", 3)]
    admin.shot("admin")

    # the clock card moves the local clock forward
    before = stack.now()
    page.locator("[data-testid=clock-form]").get_by_role("button", name="+1 hour").click()
    wait_for_notice(page, "Clock moved.")
    assert stack.now() == before + timedelta(hours=1)
    assert page.locator("[data-testid=clock-now]").text_content() == iso(before + timedelta(hours=1))

    # a bad program is refused with its field named on the form (problem+json errors)
    fill(programs, season=season, program_code="12", name="X", city="Y", state="Z", tracks="")
    programs.locator("button[type=submit]").click()
    problem = page.locator("[data-testid=programs-card] [data-testid=problem]")
    problem.wait_for()
    assert "program_code" in problem.text_content()
    assert programs.locator(".field-invalid [name=program_code]").count() == 1

    # ---- an applicant: sign up, register, pay, credits, time zone ---------------------------
    applicant = tabs("applicant")
    email = f"pages-{suffix}@test.caspr"
    password = f"Pages-{suffix}-1"
    page = applicant.goto("/")
    signup = applicant.form("#signup-form")
    fill(signup, email=email, password=password)
    signup.locator("button[type=submit]").click()
    page.wait_for_selector("#register-form")
    assert page.locator("#who").text_content().startswith(email)
    assert page.evaluate("sessionStorage.getItem('caspr.token')").count(".") == 2

    # the first link went astray: a new one is sent from the page (to the account's own address)
    page.locator("[data-testid=resend-confirmation]").click()
    wait_for_notice(page, "A new confirmation link is on its way.")
    assert email in page.locator(".notice", has_text="A new confirmation link").text_content()

    # the person opens the confirmation link emailed (R1: a proven email)
    page = applicant.goto(f"/outbox.html?to={email}")
    page.locator("a[href*='/auth/verification']").first.click()
    page.wait_for_load_state()
    assert "is confirmed" in page.content()
    page = applicant.goto("/#/applicant")
    page.wait_for_selector("#register-form")

    register = applicant.form("#register-form")
    fill(register, season=season, first_name="Page", last_name="Tester", cms_id="PRO-123",
         college="TUSPM", graduation_year=2025)
    register.locator("button[type=submit]").click()
    problem = page.locator("#register-form").locator("xpath=..").locator("[data-testid=problem]")
    problem.wait_for()
    assert "PRO-2T8P48F5H" in problem.text_content()  # R1: the message shows the expected form
    assert register.locator(".field-invalid [name=cms_id]").count() == 1
    applicant.shot("refused")

    cms_id = f"PRO-{uuid.uuid4().hex[:9].upper()}"
    register.locator("[name=cms_id]").fill(cms_id)
    register.locator("button[type=submit]").click()
    card = page.locator(f"[data-testid=registration][data-season='{season}']")
    card.wait_for()
    assert card.locator("[data-testid=status]").text_content() == "pending_payment"
    assert "$550.00" in card.locator("[data-testid=pay-form]").text_content()  # R2

    pay = card.locator("[data-testid=pay-form]")
    pay.locator("[name=card_number]").fill("4000000000000002")
    pay.locator("button[type=submit]").click()
    declined = card.locator("[data-testid=problem]")
    declined.wait_for()
    assert "declined" in declined.text_content().lower()
    assert card.locator("[data-testid=status]").text_content() == "pending_payment"

    pay.locator("[name=card_number]").fill("4242424242424242")
    pay.locator("button[type=submit]").click()
    page.wait_for_function(
        f"(() => {{ const c = document.querySelector(\"[data-testid=registration][data-season='{season}']\");"
        " return c && /^\\d{5}$/.test(c.querySelector('[data-testid=code-number]').textContent); })()")
    card = page.locator(f"[data-testid=registration][data-season='{season}']")
    code_number = card.locator("[data-testid=code-number]").text_content()
    assert re.fullmatch(r"\d{5}", code_number)  # R3
    assert card.locator("[data-testid=status]").text_content() == "registered"
    assert code_number in page.locator("#flash").text_content()
    assert card.locator("[data-testid=credits]").text_content().startswith("12 total")  # R2: 12 credits
    applicant.shot("paid")

    # the API agrees with the page
    token = page.evaluate("sessionStorage.getItem('caspr.token')")
    mine = requests.get(f"{stack.url}/registration/applicants", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).json()
    rows = [a for a in mine.get("items", mine.get("applicants", [])) if a["season"] == season]
    assert [(a["code_number"], a["status"]) for a in rows] == [(code_number, "registered")]

    credits = card.locator("[data-testid=credits-form]")
    credits.locator("[name=quantity]").fill("2")
    credits.locator("button[type=submit]").click()
    page.wait_for_function(
        f"document.querySelector(\"[data-testid=registration][data-season='{season}'] [data-testid=credits]\")"
        ".textContent.startsWith('14 total')")  # R4
    assert "$30.00" in page.locator("#flash").text_content()

    card = page.locator(f"[data-testid=registration][data-season='{season}']")
    tz = card.locator("[data-testid=timezone-form]")
    tz.locator("[name=timezone]").fill("America/New_York")
    tz.locator("button[type=submit]").click()
    page.wait_for_function(
        f"document.querySelector(\"[data-testid=registration][data-season='{season}'] [data-testid=timezone]\")"
        ".textContent === 'America/New_York'")  # I6
    assert re.search(r"Registered .* E[DS]T\.", page.locator(f"[data-testid=registration][data-season='{season}']")
                     .text_content())

    tz = page.locator(f"[data-testid=registration][data-season='{season}'] [data-testid=timezone-form]")
    tz.locator("[name=timezone]").fill("Mars/Olympus_Mons")
    tz.locator("button[type=submit]").click()
    page.locator(f"[data-testid=registration][data-season='{season}'] [data-testid=problem]").wait_for()

    # ---- the directory: lists and filters the season's programs (R8) ------------------------
    page = applicant.goto(f"/#/directory?season={season}")
    page.wait_for_selector("[data-testid=program-row]")
    assert _codes(page) == ["501", "502"]
    directory = applicant.form("#directory-form")
    directory.locator("[name=state]").fill("WY")
    _search(page, directory)
    assert _codes(page) == ["501"]
    directory.locator("[name=state]").fill("")
    directory.locator("[name=coth]").select_option("false")
    _search(page, directory)
    assert _codes(page) == ["502"]
    directory.locator("[name=coth]").select_option("")
    directory.locator("[name=q]").fill("prairie")
    _search(page, directory)
    assert _codes(page) == ["501"]
    row = page.locator("[data-testid=program-row][data-program-code='501']").text_content()
    assert "5011" in row and "3 positions" in row and "Personal statement" in row
    applicant.shot("directory")

    # ---- the outbox page: the confirmation email, with the code number (R3) -----------------
    page = applicant.goto(f"/outbox.html?to={email}")
    mails = page.locator("[data-testid=mail]")
    mails.first.wait_for()
    assert mails.count() == 3  # the sign-up's "confirm your email", the one sent again, the registration's confirmation
    mail = mails.filter(has_text=code_number)
    assert mail.count() == 1
    assert email in mail.locator("[data-testid=mail-to]").text_content()
    assert code_number in mail.text_content()
    applicant.shot("outbox")


def test_pages_what_is_typed_while_the_program_list_refreshes_is_kept(stack, tabs):
    """After "Program N registered." the page refreshes the program list; typing the next
    program meanwhile must survive (the form used to be reset only after the refresh,
    wiping it). The refresh is held back 2 s in the browser to make the window certain."""
    season, _ = stack.new_season()
    admin = tabs("admin-typing")
    sign_in(admin, stack.admin_email, stack.admin_password)
    page = admin.page
    page.wait_for_selector("[data-testid=program-form]")
    page.evaluate("""() => {
      const realFetch = window.fetch;
      window.fetch = (url, init) => {
        const slow = (!init || !init.method || init.method === "GET") && String(url).includes("/registration/programs?");
        return slow ? new Promise((ok) => setTimeout(ok, 2000)).then(() => realFetch(url, init)) : realFetch(url, init);
      };
    }""")
    programs = admin.form("[data-testid=program-form]")
    first = dict(season=season, program_code="601", name="First Program", city="A", state="OH", tracks="6011, PMSR/RRA, 1")
    fill(programs, **first)
    programs.locator("button[type=submit]").click()
    wait_for_notice(page, "Program 601 registered.")
    fill(programs, season=season, program_code="602", name="Second Program", city="B", state="OH",
         tracks="6021, PMSR/RRA, 2")  # while the list refresh is still held back
    page.wait_for_function("!document.querySelector('[data-testid=program-form] button[type=submit]').disabled")
    assert programs.locator("[name=program_code]").input_value() == "602"
    assert programs.locator("[name=name]").input_value() == "Second Program"
    programs.locator("button[type=submit]").click()
    wait_for_notice(page, "Program 602 registered.")
    listed = stack.admin.get(f"{stack.url}/registration/programs", params={"season": season}, timeout=30).json()
    assert sorted(p["program_code"] for p in listed["programs"]) == ["601", "602"]


def test_pages_the_directory_flags_a_withdrawn_track(stack, tabs):
    season, _ = stack.new_season()
    body = {"season": season, "program_code": "611", "name": "Lakeside Podiatry", "city": "Erie", "state": "PA",
            "coth": True, "crip": False, "contact": {"name": "Director"},
            "tracks": [{"track_code": "6111", "name": "PMSR/RRA", "positions": 2},
                       {"track_code": "6112", "name": "PMSR/RRA research", "positions": 1}]}
    assert stack.admin.post(f"{stack.url}/registration/programs", json=body, timeout=30).status_code == 201
    r = stack.admin.post(f"{stack.url}/registration/programs/611/tracks/6112/withdrawal",
                         json={"reason": "funding ended"}, timeout=30)
    assert r.status_code == 200, r.text
    session, account = stack.new_account()
    reader = tabs("directory-withdrawn")
    sign_in(reader, account["email"], account["password"])
    page = reader.goto(f"/#/directory?season={season}")
    page.wait_for_selector("[data-testid=program-row][data-program-code='611'] [data-testid=track]")
    flagged = page.locator("[data-testid=track]").evaluate_all(
        "ts => ts.map(t => [t.dataset.trackCode, !!t.querySelector('[data-testid=track-withdrawn]')])")
    assert flagged == [["6111", False], ["6112", True]]
    assert page.locator("[data-testid=track-withdrawn]").get_attribute("title") == "funding ended"


def _codes(page) -> list[str]:
    return sorted(page.locator("[data-testid=program-row]").evaluate_all(
        "rows => rows.map(r => r.dataset.programCode)"))


def _search(page, form):
    """Submits the filters and waits for the new result (the old count element is replaced)."""
    page.evaluate("document.querySelector('[data-testid=program-count]').dataset.stale = '1'")
    form.locator("button[type=submit]").click()
    page.wait_for_function("(() => { const c = document.querySelector('[data-testid=program-count]');"
                           " return c && !c.dataset.stale; })()")


def test_pages_outbox_links_are_clickable(stack, tabs):
    """A link in an email body is an anchor the user can follow (booking and letter links)."""
    from shared.email import Email, SesMailer
    from shared.settings import Settings

    target = f"{stack.url}/#/directory?q=link-{uuid.uuid4().hex[:6]}"
    to = f"links-{uuid.uuid4().hex[:6]}@test.caspr"
    SesMailer(Settings.from_env().email_sender).send(
        Email(to=to, subject="A link", body=f"Open <this> link: {target}.\nThanks."))
    tab = tabs("links")
    page = tab.goto(f"/outbox.html?to={to}")
    link = page.locator("[data-testid=mail-link]")
    link.wait_for()
    assert link.get_attribute("href") == target  # the trailing full stop is not part of the link
    assert "Open <this> link:" in page.locator("[data-testid=mail-body]").text_content()  # text, not HTML
    link.click()
    page.wait_for_selector("#directory-form")
    assert page.url == target


def test_pages_signed_out_pages_ask_to_sign_in_and_bad_password_is_shown(stack, tabs):
    tab = tabs("signed-out")
    page = tab.goto("/#/applicant")
    wait_for_notice(page, "Please sign in.")
    page = tab.goto("/#/signin")
    fill(tab.form("#signin-form"), email=stack.admin_email, password="wrong-password-1")
    tab.form("#signin-form").locator("button[type=submit]").click()
    problem = page.locator("[data-testid=problem]")
    problem.wait_for()
    assert "Unauthorized" in problem.text_content()
    assert "password is wrong" in problem.text_content()  # the API's detail, shown as is
    assert page.evaluate("sessionStorage.getItem('caspr.token')") is None


def test_pages_static_files_are_served_locally(stack):
    for path, kind in (("/", "text/html"), ("/app.js", "javascript"), ("/style.css", "text/css"),
                       ("/outbox.html", "text/html"), ("/outbox.js", "javascript")):
        r = requests.get(stack.url + path, timeout=30)
        assert r.status_code == 200, path
        assert kind in r.headers["Content-Type"], (path, r.headers["Content-Type"])
    for page in ("/", "/outbox.html"):
        html = requests.get(stack.url + page, timeout=30).text
        assert not re.search(r"""(src|href)=["']https?://""", html), f"{page} loads something remote"
