"""Plays a whole season through the HTTP API of a running local stack, as its people would:
the administrator configures the calendar and the programs, applicants sign up, register and pay,
release their scores, build applications (documents, three letters through the writers' emailed
links, the college's record) and designate programs; programs invite and applicants book; both
sides certify rank order lists drawn from seeded preferences; the Match, MPII and Match Day run
on the local clock (`/_local/clock`), which is moved phase by phase, the stack settling
(`/_local/settle`) before a phase that needs the events of the previous ones (each clock move
settles too). Nothing is written around the API.

Preferences (all from `--seed`): each program has a desirability, each applicant a quality; an
applicant's utility for a program is its desirability plus noise, a program's score of an
applicant the applicant's quality plus noise. Applicants designate their `designations` best
programs; COTH programs invite (I3: only they schedule through the system) their best applicants
up to twice their positions, who book the program's interview event; an applicant ranks the
tracks of the COTH programs that invited them and of the other programs they applied to, in
utility order; a track ranks the applicants it interviewed (COTH) or who applied (others), in
score order. MPII (M7): each unmatched participant applies to its best programs with unfilled
tracks (credits left permitting) and both sides rank among those applications."""

from __future__ import annotations

import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import requests

from caspr_local.seed import VERIFICATION_LINK
from caspr_season.calendar import season_calendar
from shared.clock import iso, parse_instant

CARD = "4242424242424242"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LETTER_LINK = re.compile(r"https?://\S+/applications/letters/respond\?token=(\S+)")
COLLEGES = ("TUSPM", "KSUCPM", "NYCPM", "AZPOD")
STATES = [("Chicago", "IL"), ("Dallas", "TX"), ("Tampa", "FL"), ("Denver", "CO"), ("Philadelphia", "PA"),
          ("Phoenix", "AZ"), ("New York", "NY"), ("Cleveland", "OH")]
PHASES = ("season", "accounts", "registration", "scores", "applications", "letters", "designations",
          "interviews", "rank lists", "match", "mpii", "match day")


class SimulationError(RuntimeError):
    """The stack refused or failed a step of the season (the request and its answer)."""


@dataclass
class Applicant:
    index: int
    email: str
    password: str
    cms_id: str
    college: str
    quality: float
    token: str = ""
    applicant_id: str = ""
    code: str = ""
    att: str = ""
    designated: list[str] = field(default_factory=list)  # program codes, best first
    invitations: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # program -> (inv, type, event)
    rol: list[str] = field(default_factory=list)  # track codes, first choice first
    mpii_designated: list[str] = field(default_factory=list)
    mpii_rol: list[str] = field(default_factory=list)
    letters: list[str] = field(default_factory=list)  # letter ids, in the order requested


@dataclass
class Program:
    index: int
    code: str
    coth: bool
    tracks: dict[str, int]  # track code -> positions
    desirability: float
    email: str = ""
    password: str = ""
    token: str = ""
    applicants: list[int] = field(default_factory=list)  # applicant indexes who designated it
    interviewed: list[int] = field(default_factory=list)
    type_id: str = ""
    event_id: str = ""


@dataclass
class Report:
    season: str
    applicants: int
    programs: int
    positions: int = 0
    filled: int = 0
    matched: int = 0
    matched_match: int = 0
    matched_mpii: int = 0
    ranked: int = 0
    first_choice: int = 0
    emails: int = 0
    requests: int = 0
    seconds: float = 0.0
    # name, seconds, requests, seconds of them waiting for the clock to move and the stack to settle
    phases: list[tuple[str, float, int, float]] = field(default_factory=list)

    @property
    def fill_rate(self) -> float:
        return self.filled / self.positions if self.positions else 0.0

    @property
    def match_rate(self) -> float:
        return self.matched / self.ranked if self.ranked else 0.0

    @property
    def first_choice_share(self) -> float:
        return self.first_choice / self.matched_match if self.matched_match else 0.0

    def text(self) -> str:
        lines = [f"Season {self.season}: {self.applicants} applicants, {self.programs} programs, "
                 f"{self.positions} positions",
                 f"  fill rate            {self.fill_rate:7.1%}  ({self.filled} of {self.positions} positions; "
                 f"Match {self.matched_match}, MPII {self.matched_mpii})",
                 f"  match rate           {self.match_rate:7.1%}  ({self.matched} matched of {self.ranked} "
                 f"applicants who certified a list, Match or MPII)",
                 f"  first choice         {self.first_choice_share:7.1%}  ({self.first_choice} of the "
                 f"{self.matched_match} matched in the Match got their first-ranked track)",
                 f"  emails sent          {self.emails:7d}",
                 f"  requests made        {self.requests:7d}",
                 "  time per phase:"]
        lines += [f"    {name:14} {secs:7.1f} s  {reqs:6d} requests  (clock and settling {wait:5.1f} s)"
                  for name, secs, reqs, wait in self.phases]
        lines.append(f"    {'total':14} {self.seconds:7.1f} s")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"season": self.season, "applicants": self.applicants, "programs": self.programs,
                "positions": self.positions, "filled": self.filled, "fill_rate": round(self.fill_rate, 4),
                "matched": self.matched, "matched_match": self.matched_match, "matched_mpii": self.matched_mpii,
                "ranked": self.ranked, "match_rate": round(self.match_rate, 4), "first_choice": self.first_choice,
                "first_choice_share": round(self.first_choice_share, 4), "emails": self.emails,
                "requests": self.requests, "seconds": round(self.seconds, 2),
                "phases": [{"name": n, "seconds": round(s, 2), "requests": r, "settling_seconds": round(w, 2)}
                           for n, s, r, w in self.phases]}


class Http:
    """Requests to the stack (one keep-alive session per thread), counted."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.count = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def request(self, method: str, path: str, token: str | None = None, ok: Iterable[int] = (200, 201),
                timeout: float = 120, **kw) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        headers = dict(kw.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else f"{self.url}{path}"
        with self._lock:
            self.count += 1
        r = session.request(method, url, headers=headers, timeout=timeout, **kw)
        if ok and r.status_code not in ok:
            raise SimulationError(f"{method} {url} -> {r.status_code} {r.text[:500]}")
        return r

    def token(self, email: str, password: str) -> str:
        return self.request("POST", "/auth/token", json={"email": email, "password": password}).json()["access_token"]

    def upload(self, form: dict) -> None:
        """What a browser does with a presigned POST (to the emulator's S3)."""
        self.request("POST", form["url"], ok=(200, 201, 204), data=form["fields"],
                     files={"file": ("file.pdf", PDF, "application/pdf")})


class Progress:
    """A progress bar per step (rich, when installed), else a line on stderr per tenth."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._rich = None
        if not quiet:
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
                from rich.progress import Progress as RichProgress

                self._rich = RichProgress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
                                          TimeElapsedColumn(), console=Console(stderr=True), transient=False)
                self._rich.start()
            except ImportError:
                self._rich = None

    def step(self, what: str, total: int) -> Callable[[], None]:
        if self.quiet:
            return lambda: None
        if self._rich is not None:
            task = self._rich.add_task(what, total=total)
            return lambda: self._rich.advance(task)
        done, lock = [0], threading.Lock()
        print(f"{what}: 0/{total}", file=sys.stderr, flush=True)

        def advance():
            with lock:
                done[0] += 1
                if done[0] == total or done[0] * 10 // max(total, 1) != (done[0] - 1) * 10 // max(total, 1):
                    print(f"{what}: {done[0]}/{total}", file=sys.stderr, flush=True)
        return advance

    def note(self, text: str) -> None:
        if self.quiet:
            return
        if self._rich is not None:
            self._rich.console.print(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._rich is not None:
            self._rich.stop()


class Simulation:
    def __init__(self, url: str, admin_email: str, admin_password: str, *, applicants: int, programs: int,
                 seed: int = 1, season: str | None = None, workers: int = 12, designations: int = 8,
                 far_after: str | None = None, quiet: bool = False):
        if applicants < 1 or not 1 <= programs <= 899:
            raise ValueError("at least one applicant, and 1 to 899 programs (3-digit codes 101-999)")
        self.http = Http(url)
        self.rng = random.Random(seed)
        self.n, self.m = applicants, programs
        self.workers = workers
        self.k = max(1, min(designations, programs, 12))  # 12 credits (R2)
        self.season = season
        self.far_after = far_after
        self.admin = self.http.token(admin_email, admin_password)
        self.progress = Progress(quiet)
        self.run_tag = uuid.uuid4().hex[:6]
        self.report = Report(season or "", applicants, programs)
        self.applicants: list[Applicant] = []
        self.programs: list[Program] = []
        self.colleges: dict[str, tuple[str, str, str]] = {}  # college -> (email, password, token)
        self.cal: dict[str, str] = {}
        self.waited = 0.0  # seconds of the current phase spent moving the clock and settling
        self.on_phase: Callable[[str, float, int, float], None] | None = None  # called as each phase ends

    # ------------------------------------------------------------------ plumbing
    def each(self, what: str, items: list, fn: Callable) -> list:
        """fn over items from the thread pool, a progress bar advancing per item."""
        advance = self.progress.step(what, len(items))

        def one(item):
            out = fn(item)
            advance()
            return out

        if not items:
            return []
        with ThreadPoolExecutor(min(self.workers, len(items))) as pool:
            return list(pool.map(one, items))

    def settle(self) -> None:
        """Until every outbox is relayed, every queue empty and every consumer idle."""
        t0 = time.perf_counter()
        deadline = time.monotonic() + 1800
        while not self.http.request("GET", "/_local/settle", timeout=300).json()["settled"]:
            if time.monotonic() > deadline:
                raise SimulationError("the stack did not settle in 30 minutes")
        self.waited += time.perf_counter() - t0

    def at(self, key: str) -> None:
        """The clock just past a calendar instant (its events fire), then settled."""
        when = parse_instant(self.cal[key]) + timedelta(minutes=1)
        now = parse_instant(self.http.request("GET", "/_local/clock").json()["now"])
        if when > now:
            self.progress.note(f"clock -> {key} ({iso(when)})")
            t0 = time.perf_counter()
            self.http.request("POST", "/_local/clock", json={"now": iso(when)}, timeout=1800)
            self.waited += time.perf_counter() - t0
        self.settle()

    def outbox(self) -> list[dict]:
        return self.http.request("GET", "/_local/outbox", timeout=600).json()["messages"]

    def wait_for(self, check: Callable, what: str, timeout: float = 600.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.3)
        raise SimulationError(f"timed out waiting for {what}")

    def run_step(self, name: str) -> str | None:
        runs = self.http.request("GET", f"/match/seasons/{self.season}/runs", token=self.admin).json()["runs"]
        if not runs:
            return None
        if name == "":
            return runs[-1]["status"]
        return next((s["status"] for s in runs[-1]["steps"] if s["step"] == name), None)

    def retry_rule(self, call: Callable[[], requests.Response], rule: str, what: str) -> requests.Response:
        """A call the service refuses (422 naming `rule`) until an event has reached it, tried again."""
        def attempt():
            r = call()
            if r.status_code == 422 and r.json().get("rule") == rule:
                return None
            if r.status_code >= 400:
                raise SimulationError(f"{what}: {r.status_code} {r.text[:500]}")
            return r
        return self.wait_for(attempt, what, timeout=300)

    # ------------------------------------------------------------------ the season
    def run(self) -> Report:
        started = time.perf_counter()
        emails_before = len(self.outbox())
        steps = [("season", self.phase_season), ("accounts", self.phase_accounts),
                 ("registration", self.phase_registration), ("scores", self.phase_scores),
                 ("applications", self.phase_applications), ("letters", self.phase_letters),
                 ("designations", self.phase_designations), ("interviews", self.phase_interviews),
                 ("rank lists", self.phase_rank_lists), ("match", self.phase_match), ("mpii", self.phase_mpii),
                 ("match day", self.phase_match_day)]
        try:
            for name, fn in steps:
                t0, r0, self.waited = time.perf_counter(), self.http.count, 0.0
                self.progress.note(f"[{name}]")
                fn()
                self.report.phases.append((name, time.perf_counter() - t0, self.http.count - r0, self.waited))
                if self.on_phase:
                    self.on_phase(*self.report.phases[-1])
            self.report.emails = len(self.outbox()) - emails_before
        finally:
            self.progress.stop()
        self.report.requests = self.http.count
        self.report.seconds = time.perf_counter() - started
        return self.report

    def phase_season(self) -> None:
        h = self.http
        now = parse_instant(h.request("GET", "/_local/clock").json()["now"])
        if self.season is None:  # the first season id the stack does not know yet
            year = 2024
            while h.request("GET", f"/registration/seasons/{year}", token=self.admin, ok=(200, 404)).status_code == 200:
                year += 1
            self.season = str(year)
        self.report.season = self.season
        self.cal = season_calendar(now - timedelta(minutes=1), self.far_after)
        h.request("PUT", f"/registration/seasons/{self.season}", token=self.admin, json=self.cal)
        rng = self.rng
        codes = rng.sample(range(101, 1000), self.m)
        per_program = max(1, round(self.n * 0.9 / self.m))  # about nine positions for ten applicants
        for i, code in enumerate(sorted(codes)):
            n_tracks = 2 if rng.random() < 0.3 and per_program >= 2 else 1
            positions = [max(1, round(per_program * rng.uniform(0.6, 1.4) / n_tracks)) for _ in range(n_tracks)]
            self.programs.append(Program(i, str(code), coth=rng.random() < 0.7,
                                         tracks={f"{code}{t + 1}": p for t, p in enumerate(positions)},
                                         desirability=rng.gauss(0, 1)))
        self.report.positions = sum(sum(p.tracks.values()) for p in self.programs)

        def register_program(p: Program) -> None:
            city, state = STATES[p.index % len(STATES)]
            h.request("POST", "/registration/programs", token=self.admin, json={
                "season": self.season, "program_code": p.code, "name": f"Simulated Residency {p.code}",
                "city": city, "state": state, "coth": p.coth, "crip": False,
                "contact": {"name": "Program Director", "email": f"director{p.code}@season.caspr"},
                "requirements": "Personal statement, CV, 3 letters of reference",
                "tracks": [{"track_code": t, "name": "PMSR/RRA", "positions": n} for t, n in p.tracks.items()]})
            p.email = f"program{p.code}-{self.season}-{self.run_tag}@season.caspr"
            p.password = f"Program-{uuid.uuid4().hex[:8]}1"
            h.request("POST", "/auth/accounts", token=self.admin,
                      json={"email": p.email, "password": p.password, "role": "program", "program_code": p.code})
            p.token = h.token(p.email, p.password)

        self.each(f"{self.m} programs and their accounts", self.programs, register_program)
        for college in COLLEGES:
            email, password = f"college.{college.lower()}-{self.run_tag}@season.caspr", f"College-{uuid.uuid4().hex[:8]}1"
            h.request("POST", "/auth/accounts", token=self.admin,
                      json={"email": email, "password": password, "role": "college", "college": college})
            self.colleges[college] = (email, password, h.token(email, password))

    def phase_accounts(self) -> None:
        h = self.http
        self.applicants = [Applicant(i, f"applicant{i}-{self.season}-{self.run_tag}@season.caspr",
                                     f"Pw-{uuid.uuid4().hex[:8]}1", f"SIM-{uuid.uuid4().hex[:9].upper()}",
                                     COLLEGES[i % len(COLLEGES)], self.rng.gauss(0, 1)) for i in range(self.n)]
        self.each(f"{self.n} applicants sign up", self.applicants, lambda a: h.request(
            "POST", "/auth/accounts", ok=(201,), json={"email": a.email, "password": a.password}))
        self.settle()
        links = {}
        for msg in self.outbox():
            for link in VERIFICATION_LINK.findall(msg["body"]):
                for to in msg["to"]:
                    links[to.lower()] = link
        missing = [a.email for a in self.applicants if a.email not in links]
        if missing:
            raise SimulationError(f"no confirmation email for {len(missing)} applicants, e.g. {missing[0]}")

        def confirm(a: Applicant) -> None:
            h.request("GET", links[a.email])
            a.token = h.token(a.email, a.password)

        self.each("confirm the email, sign in", self.applicants, confirm)

    def phase_registration(self) -> None:
        h = self.http

        def register(a: Applicant) -> None:
            r = h.request("POST", "/registration/applicants", token=a.token, json={
                "season": self.season, "first_name": "Sim", "last_name": f"Applicant{a.index}", "email": a.email,
                "cms_id": a.cms_id, "college": a.college, "graduation_year": int(self.season)}).json()
            a.applicant_id = r["applicant_id"]
            paid = h.request("POST", f"/registration/applicants/{a.applicant_id}/payments", token=a.token,
                             json={"amount_cents": r["amount_due_cents"], "card_number": CARD},
                             headers={"Idempotency-Key": f"season-{a.applicant_id}"})
            a.code = paid.json()["code_number"]

        self.each(f"{self.n} register and pay (R1-R3)", self.applicants, register)
        self.settle()

    def phase_scores(self) -> None:
        h = self.http

        def release(a: Applicant) -> None:
            a.att = f"00{self.season[-2:]}{a.index:05d}"
            h.request("PUT", f"/scores/applicants/{a.applicant_id}/release", token=a.token, json={
                "att_number": a.att, "cms_id": a.cms_id, "name_at_exam": f"Sim Applicant{a.index}",
                "explanation": "", "authorize_part1": True, "authorize_part2": True})

        self.each(f"{self.n} score releases (S1)", self.applicants, release)
        csv = "att_number,cms_id,exam,exam_date,result\n" + "".join(
            f"{a.att},{a.cms_id},{exam},{self.season[:4]}-01-15,pass\n"
            for a in self.applicants for exam in ("part1", "part2_written"))
        advance = self.progress.step("the NBPME upload (S3)", 1)
        out = h.request("POST", f"/scores/seasons/{self.season}/results", token=self.admin, data=csv.encode(),
                        headers={"Content-Type": "text/csv"}, timeout=1800).json()
        advance()
        if out.get("unmatched"):
            raise SimulationError(f"the NBPME upload left rows unmatched: {out['unmatched'][:3]}")
        # no settle here: the passes reach applications (A3) while the applications are built; the
        # applications phase settles before anyone designates

    def phase_applications(self) -> None:
        h = self.http

        def build(a: Applicant) -> None:
            base = f"/applications/applicants/{a.applicant_id}"
            for kind in ("personal_statement", "cv"):
                r = h.request("POST", f"{base}/documents", token=a.token,
                              json={"kind": kind, "filename": f"{kind}.pdf", "size": len(PDF)}).json()
                h.upload(r["upload"])
                h.request("POST", f"{base}/documents/{r['document_id']}/completion", token=a.token)
            a.letters = [h.request("POST", f"{base}/letters", token=a.token, json={
                "writer_name": f"Dr Writer {i}", "writer_email": self.writer(a, i), "label": "clinical",
                "waived": True}).json()["letter_id"] for i in range(3)]
            h.request("PUT", f"/applications/colleges/{a.college}/students/{a.applicant_id}/record",
                      token=self.colleges[a.college][2],
                      json={"gpa": round(min(4.0, max(2.0, 3.3 + 0.3 * a.quality)), 2),
                            "class_rank": a.index // len(COLLEGES) + 1,
                            "class_size": (self.n + len(COLLEGES) - 1) // len(COLLEGES)})
            h.request("POST", f"{base}/submission", token=a.token)

        self.each(f"{self.n} applications: PDFs, letters, record",
                  self.applicants, build)
        self.settle()

    def writer(self, a: Applicant, i: int) -> str:
        return f"writer{i}-{a.applicant_id}@season.caspr".lower()

    def phase_letters(self) -> None:
        h = self.http
        tokens = {}
        for msg in self.outbox():
            for token in LETTER_LINK.findall(msg["body"]):
                for to in msg["to"]:
                    tokens[to.lower()] = token
        # each writer's letter is part of the applicant's application item: the three writers of one
        # applicant answering at the same instant would only retry on each other's versions
        jobs = [(a, i) for i in range(3) for a in self.applicants]
        missing = [self.writer(a, i) for a, i in jobs if self.writer(a, i) not in tokens]
        if missing:
            raise SimulationError(f"no letter request email for {len(missing)} writers, e.g. {missing[0]}")

        def answer(job) -> None:
            a, i = job
            token = tokens[self.writer(a, i)]
            letter_id = a.letters[i]
            q = {"token": token}
            h.request("POST", f"/applications/letters/{letter_id}/response", params=q, json={"accept": True})
            form = h.request("POST", f"/applications/letters/{letter_id}/upload", params=q).json()["upload"]
            h.upload(form)
            h.request("POST", f"/applications/letters/{letter_id}/completion", params=q)

        self.each(f"{len(jobs)} letters uploaded by writers (A1)", jobs, answer)

    def phase_designations(self) -> None:
        h = self.http
        for a in self.applicants:
            utility = {p.code: p.desirability + self.rng.gauss(0, 1) for p in self.programs}
            a.designated = sorted(utility, key=utility.get, reverse=True)[:self.k]
        by_code = {p.code: p for p in self.programs}
        for a in self.applicants:
            for code in a.designated:
                by_code[code].applicants.append(a.index)

        def designate(a: Applicant) -> None:
            for code in a.designated:
                h.request("POST", f"/applications/applicants/{a.applicant_id}/designations", token=a.token,
                          json={"program_code": code})

        self.each(f"{self.n * self.k} designations (A5)", self.applicants, designate)
        self.at("applications_delivered")

    def phase_interviews(self) -> None:
        h = self.http
        self.at("invitations_open")
        # whole minutes (I1): the shared clock, and so the season's instants, may stand at any second
        first = (parse_instant(self.cal["non_crip_interviews_from"]) + timedelta(days=1)).replace(second=0, microsecond=0)
        coth = [p for p in self.programs if p.coth]
        for p in self.programs:  # a program's score of each of its applicants
            score = {i: self.applicants[i].quality + self.rng.gauss(0, 0.5) for i in p.applicants}
            p.applicants.sort(key=score.get, reverse=True)
        for p in coth:
            p.interviewed = p.applicants[:2 * sum(p.tracks.values())]

        def schedule(pair) -> None:  # one type, one event an hour after the previous program's (I4)
            slot, p = pair
            base = f"/interviews/programs/{p.code}"
            p.type_id = h.request("POST", f"{base}/types", token=p.token, json={"name": "Faculty interview"}
                                  ).json()["type_id"]
            start = first + timedelta(hours=slot)
            p.event_id = h.request("POST", f"{base}/events", token=p.token, json={
                "type_id": p.type_id, "start": iso(start), "end": iso(start + timedelta(minutes=30)),
                "capacity": max(1, len(p.interviewed)), "place": "virtual", "location": "video call",
                "timezone": "America/Chicago"}).json()["event_id"]

        self.each(f"{len(coth)} interview types and events (I1)", list(enumerate(coth)), schedule)
        invites = [(p, i) for p in coth for i in p.interviewed]

        def invite(job) -> None:
            p, i = job
            a = self.applicants[i]
            r = h.request("POST", f"/interviews/programs/{p.code}/invitations", token=p.token, json={
                "applicant_id": a.applicant_id, "type_ids": [p.type_id], "message": "We would like to meet you."})
            a.invitations[p.code] = (r.json()["invitation_id"], p.type_id, p.event_id)

        self.each(f"{len(invites)} invitations (I2)", invites, invite)

        def book(job) -> None:
            p, i = job
            inv, type_id, event_id = self.applicants[i].invitations[p.code]
            h.request("POST", f"/interviews/invitations/{inv}/bookings", token=self.applicants[i].token,
                      json={"type_id": type_id, "event_id": event_id},
                      headers={"Idempotency-Key": f"season-{inv}"})

        self.each(f"{len(invites)} bookings (I4)", invites, book)

    def phase_rank_lists(self) -> None:
        h = self.http
        self.at("rol_opens")
        base = f"/match/seasons/{self.season}"
        by_code = {p.code: p for p in self.programs}
        for a in self.applicants:  # designated is in utility order already
            a.rol = [t for code in a.designated if not by_code[code].coth or code in a.invitations
                     for t in by_code[code].tracks]

        def applicant_list(a: Applicant) -> None:
            if not a.rol:
                return
            h.request("PUT", f"{base}/applicants/me/rol", token=a.token, json={"tracks": a.rol})
            h.request("POST", f"{base}/applicants/me/rol/certification", token=a.token)

        self.each(f"{self.n} applicants' lists, certified (M1)", self.applicants, applicant_list)
        track_jobs = [(p, t) for p in self.programs for t in p.tracks]

        def track_list(job) -> None:
            p, t = job
            ranked = p.interviewed if p.coth else p.applicants
            if not ranked:
                return
            r = h.request("PUT", f"{base}/tracks/{t}/rol", token=p.token,
                          json={"applicants": [self.applicants[i].code for i in ranked]})
            h.request("POST", f"{base}/tracks/{t}/rol/certification", token=p.token,
                      params={"version": r.json()["version"]})

        self.each(f"{len(track_jobs)} tracks' lists, certified (M1)", track_jobs, track_list)

    def phase_match(self) -> None:
        self.at("rol_deadline")
        advance = self.progress.step("the Match run, stored (M4)", 1)
        self.wait_for(lambda: self.run_step("await:match_status_day") == "waiting", "the Match run to be stored")
        advance()
        self.at("match_status_day")
        advance = self.progress.step("Match Status Day (M5); MPII opens", 1)
        self.wait_for(lambda: self.run_step("await:mpii_rol_deadline") == "waiting", "MPII to open")
        advance()

    def phase_mpii(self) -> None:
        h = self.http
        base = f"/match/seasons/{self.season}"
        mpii = h.request("GET", f"{base}/mpii", token=self.admin).json()
        participants = {x["code_number"] for x in mpii["applicants"]}
        open_tracks = {t["track_code"] for t in mpii["tracks"] if t["positions"] > 0}
        by_code = {p.code: p for p in self.programs}
        mpii_programs = sorted({t[:3] for t in open_tracks}, key=lambda c: by_code[c].desirability, reverse=True)
        self.at("mpii_applications_open")
        credits = 12 - self.k
        takers = [a for a in self.applicants if a.code in participants]
        for a in takers:
            a.mpii_designated = mpii_programs[:min(credits, 3)]

        def designate(a: Applicant) -> None:
            url = f"/applications/applicants/{a.applicant_id}/designations"
            for code in a.mpii_designated:
                self.retry_rule(lambda code=code: h.request("POST", url, token=a.token, ok=(),
                                                            json={"program_code": code}),
                                "M7", "the applications service to learn MPII")
                by_code[code].applicants.append(a.index)  # noqa: B023 (called at once)

        self.each(f"{len(takers)} MPII participants apply (M7)", takers, designate)
        self.at("mpii_rol_opens")
        for a in takers:
            a.mpii_rol = [t for c in a.mpii_designated for t in by_code[c].tracks if t in open_tracks]

        def applicant_list(a: Applicant) -> None:
            if not a.mpii_rol:
                return
            self.retry_rule(lambda: h.request("PUT", f"{base}/mpii/applicants/me/rol", token=a.token, ok=(),
                                              json={"tracks": a.mpii_rol}), "M7", "match to learn the MPII applications")
            h.request("POST", f"{base}/mpii/applicants/me/rol/certification", token=a.token)

        self.each(f"{len(takers)} MPII lists, certified", takers, applicant_list)
        index = {a.code: a for a in self.applicants}
        track_jobs = [(t, [index[c].index for c in participants if t[:3] in index[c].mpii_designated])
                      for t in sorted(open_tracks)]

        def track_list(job) -> None:
            t, ranked = job
            if not ranked:
                return
            ranked.sort(key=lambda i: self.applicants[i].quality, reverse=True)
            p = by_code[t[:3]]
            r = self.retry_rule(lambda: h.request("PUT", f"{base}/mpii/tracks/{t}/rol", token=p.token, ok=(), json={
                "applicants": [self.applicants[i].code for i in ranked]}), "M7", "match to learn the MPII applications")
            h.request("POST", f"{base}/mpii/tracks/{t}/rol/certification", token=p.token,
                      params={"version": r.json()["version"]})

        self.each(f"{len(track_jobs)} MPII tracks' lists, certified", track_jobs, track_list)
        self.at("mpii_rol_deadline")
        advance = self.progress.step("the MPII run (M7)", 1)
        self.wait_for(lambda: self.run_step("await:match_day") == "waiting", "the MPII run to be stored")
        advance()

    def phase_match_day(self) -> None:
        self.at("match_day")
        advance = self.progress.step("Match Day: results (M5)", 1)
        self.wait_for(lambda: self.run_step("") == "SUCCEEDED", "the run to succeed")
        advance()
        results = self.http.request("GET", f"/match/seasons/{self.season}/results", token=self.admin).json()
        rounds = results["rounds"]
        match = {m["code_number"]: m["track_code"] for m in rounds["match"].get("matches") or [] if m["track_code"]}
        mpii = {m["code_number"]: m["track_code"] for m in (rounds.get("mpii") or {}).get("matches") or []
                if m["track_code"]}
        r = self.report
        r.matched_match, r.matched_mpii = len(match), len(mpii)
        r.matched = len(set(match) | set(mpii))
        r.filled = r.matched_match + r.matched_mpii
        r.ranked = sum(1 for a in self.applicants if a.rol or a.mpii_rol)
        r.first_choice = sum(1 for a in self.applicants if a.rol and match.get(a.code) == a.rol[0])


def seed_demo(url: str, admin: dict, applicants: int, programs: int, seed: int = 1) -> str:
    """`make run DEMO=large`: plays a season on the stack just started, then returns what the banner
    says of it: the figures and a few of its logins of each role."""
    sim = Simulation(url, admin["email"], admin["password"], applicants=applicants, programs=programs, seed=seed)
    report = sim.run()
    logins = [(f"Program {p.code}" + (" (COTH)" if p.coth else ""), p.email, p.password) for p in sim.programs[:3]]
    logins += [(f"College {c}", e, pw) for c, (e, pw, _) in list(sim.colleges.items())[:1]]
    logins += [(f"Applicant {a.code}", a.email, a.password) for a in sim.applicants[:3]]
    width = max(len(label) for label, _, _ in logins)
    lines = "\n".join(f"  {label:<{width}}  {email} / {password}" for label, email, password in logins)
    return (f"\nSeason {report.season} played to Match Day by caspr-season ({applicants} applicants, {programs} "
            f"programs, {report.seconds:.0f} s): fill rate {report.fill_rate:.1%}, match rate "
            f"{report.match_rate:.1%}, {report.emails} emails. A few of its logins:\n{lines}\n")


def run_in_process(**kw) -> tuple[Report, object]:
    """Starts a local stack in this process (as the e2e tests and the benches do) and plays the season on it."""
    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin

    local = LocalStack(port=0, separate_emulator=True).start()  # both cores: moto answers in a process of its own
    try:
        admin = create_admin(local)
        sim = Simulation(local.url, admin["email"], admin["password"], **kw)
        return sim.run(), sim
    finally:
        local.stop()
