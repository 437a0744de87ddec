"""The demo season: the 2024 CASPR calendar (SPEC.md), a few programs and applicants."""

from __future__ import annotations

DEMO_SEASON = "2024"

# SPEC.md season calendar, 2024 CASPR values (ET = UTC-4 in summer/fall until Nov 5, UTC-5 after)
CALENDAR_2024 = {
    "registration_opens": "2023-07-24T12:00:00-04:00",
    "registration_recommended_by": "2023-09-13T23:59:00-04:00",
    "score_release_deadline": "2023-10-25T23:59:00-04:00",
    "scores_uploaded": "2023-10-26T12:00:00-04:00",
    "application_deadline_default": "2023-10-31T23:59:00-04:00",
    "part1_pass_by": "2023-10-31T23:59:00-04:00",
    "applications_delivered": "2023-11-01T12:00:00-04:00",
    "invitations_open": "2023-12-04T12:00:00-05:00",
    "crip_start": "2024-01-11T08:00:00-06:00",
    "crip_end": "2024-01-16T18:00:00-06:00",
    "non_crip_interviews_from": "2024-01-17T00:00:00-06:00",
    "rol_opens": "2024-01-17T12:00:00-05:00",
    "registration_final": "2024-02-15T23:59:00-05:00",
    "match_application_last": "2024-02-16T23:59:00-05:00",
    "rol_deadline": "2024-02-18T23:59:00-05:00",
    "part2_pass_by": "2024-02-29T23:59:00-05:00",
    "part2_uploaded": "2024-03-01T12:00:00-05:00",
    "match_status_day": "2024-03-04T12:00:00-05:00",
    "mpii_applications_open": "2024-03-04T12:00:00-05:00",
    "mpii_application_deadline": "2024-03-06T12:00:00-05:00",
    "mpii_rol_opens": "2024-03-06T12:00:00-05:00",
    "mpii_rol_deadline": "2024-03-11T15:00:00-04:00",
    "match_day": "2024-03-13T12:00:00-04:00",
}


def demo_calendar() -> dict:
    return dict(CALENDAR_2024)


def demo_programs() -> list[dict]:
    rows = [
        ("101", "Grand Lakes Medical Center", "Chicago", "IL", True, True, "A", [("1011", "PMSR/RRA", 3)]),
        ("102", "Sunbelt Foot & Ankle Institute", "Dallas", "TX", True, True, "B",
         [("1021", "PMSR/RRA", 2), ("1022", "PMSR/RRA Research", 1)]),
        ("103", "Coastal Podiatric Residency", "Tampa", "FL", False, False, None, [("1031", "PMSR/RRA", 2)]),
        ("104", "Mountain West Health", "Denver", "CO", True, False, None, [("1041", "PMSR/RRA", 2)]),
    ]
    return [
        {"season": DEMO_SEASON, "program_code": code, "name": name, "city": city, "state": state,
         "coth": coth, "crip": crip, "crip_section": section,
         "contact": {"name": "Program Director", "email": f"director{code}@caspr.example", "phone": "+1 555 0100"},
         "requirements": "Personal statement, CV, 3 letters of reference",
         "tracks": [{"track_code": t, "name": n, "positions": p} for t, n, p in tracks]}
        for code, name, city, state, coth, crip, section, tracks in rows
    ]


def demo_applicants() -> list[dict]:
    names = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Katherine", "Johnson"),
             ("Edsger", "Dijkstra"), ("Barbara", "Liskov"), ("Donald", "Knuth"), ("Frances", "Allen")]
    colleges = ["TUSPM", "KSUCPM", "NYCPM", "AZPOD"]
    return [
        {"season": DEMO_SEASON, "first_name": first, "last_name": last,
         "email": f"{first.lower()}.{last.lower()}@caspr.example",
         "cms_id": f"PRO-{i:02d}DEMO{i:03d}", "college": colleges[i % len(colleges)], "graduation_year": 2024}
        for i, (first, last) in enumerate(names)
    ]


DEMO_COLLEGES = [("TUSPM", "Temple University School of Podiatric Medicine"),
                 ("KSUCPM", "Kent State University College of Podiatric Medicine"),
                 ("NYCPM", "New York College of Podiatric Medicine")]

# --- the season as seeded: applications delivered, interviews open ------------------------------
# the clock after seeding: invitations are open (2023-12-04 12:00 ET), registration still open
DEMO_NOW = "2023-12-05T09:00:00-05:00"
DEMO_SCORES_AT = "2023-10-26T13:00:00-04:00"  # one hour after scores_uploaded: NBPME's Part I file
DEMO_INTERVIEW_PROGRAM = "101"  # COTH and CRIP: it schedules its interviews online (I3)


def demo_designations(i: int) -> list[str]:
    """The programs demo applicant i designates (every paid one: 101 and 102, then 103 or 104)."""
    return ["101", "102", "103" if i % 2 == 0 else "104"]


def demo_college_record(i: int) -> dict:
    """The college's record of demo applicant i (A2)."""
    return {"gpa": round(3.9 - 0.1 * i, 2), "class_rank": 2 + 3 * i, "class_size": 96,
            "clinicals": [{"site": "Grand Lakes Medical Center", "specialty": "Podiatric surgery", "weeks": 4},
                          {"site": "Community Foot Clinic", "specialty": "Wound care", "weeks": 2}]}


def demo_interviews() -> dict:
    """Program 101's interview day: one type, CRIP events (within crip_start..crip_end, I7) and an
    on-site day after it, in the program's zone; the first paid applicants invited, the first one booked."""
    return {
        "type": {"name": "Residency interview", "description": "30 minutes with the program director and residents"},
        "events": [
            {"start": "2024-01-12T09:00:00-06:00", "end": "2024-01-12T09:30:00-06:00", "capacity": 2,
             "place": "crip", "location": "CRIP, Hall B, table 12", "timezone": "America/Chicago"},
            {"start": "2024-01-12T10:00:00-06:00", "end": "2024-01-12T10:30:00-06:00", "capacity": 2,
             "place": "crip", "location": "CRIP, Hall B, table 12", "timezone": "America/Chicago"},
            {"start": "2024-01-22T09:00:00-06:00", "end": "2024-01-22T10:00:00-06:00", "capacity": 4,
             "place": "onsite", "location": "Grand Lakes Medical Center, 5th floor", "timezone": "America/Chicago"},
        ],
        "invited": 4,  # the first four paid applicants
        "message": "We enjoyed your application and invite you to interview with us.",
    }


def demo_accounts() -> list[dict]:
    """Every account the demo seeds besides the administrator (whose password is chosen at
    start), with its password: `make run` prints them all and the README lists them."""
    accounts = [{"role": "program", "email": f"program{p['program_code']}@caspr.example",
                 "password": f"Program-{p['program_code']}-demo1", "program_code": p["program_code"],
                 "label": f"Program {p['program_code']}"} for p in demo_programs()]
    accounts += [{"role": "college", "email": f"college.{code.lower()}@caspr.example",
                  "password": f"College-{code}-demo1", "college": code, "label": f"College {code}"}
                 for code, _ in DEMO_COLLEGES]
    accounts += [{"role": "applicant", "email": a["email"], "password": f"Applicant-demo{i}",
                  "label": f"Applicant {a['first_name']} {a['last_name']}"
                           + (" (unpaid)" if not demo_applicant_pays(i) else "")}
                 for i, a in enumerate(demo_applicants())]
    return accounts


def demo_applicant_pays(i: int) -> bool:
    """A few demo applicants stay unpaid, to show pending registrations."""
    return i % 4 != 3


def demo_logins_text() -> str:
    """The banner's list of demo logins (`make run`), one account a line."""
    width = max(len(a["label"]) for a in demo_accounts())
    return "\n".join(f"  {a['label']:<{width}}  {a['email']} / {a['password']}" for a in demo_accounts())
