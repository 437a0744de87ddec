"""caspr-season's pieces that need no stack: the report's figures, the season calendar, the
DEMO sizes of `make run` (the whole season is played in tests/e2e/test_season_simulator_e2e.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caspr_local.__main__ import main as caspr_local_main
from caspr_season.calendar import CALENDAR_OFFSETS, FAR, season_calendar
from caspr_season.simulate import Report
from shared.clock import parse_instant


def test_report_rates_and_their_text():
    r = Report("2024", applicants=10, programs=2, positions=8, filled=6, matched=6, matched_match=5,
               matched_mpii=1, ranked=9, first_choice=4, emails=120, requests=900, seconds=61.5,
               phases=[("season", 1.25, 20, 0.0), ("match", 10.0, 8, 9.5)])
    assert (r.fill_rate, r.match_rate, r.first_choice_share) == (0.75, 6 / 9, 0.8)
    text = r.text()
    assert "fill rate" in text and "75.0%" in text and "(6 of 8 positions; Match 5, MPII 1)" in text
    assert "4 of the 5 matched in the Match got their first-ranked track" in text
    assert "match             10.0 s       8 requests  (clock and settling   9.5 s)" in text
    d = r.as_dict()
    assert d["fill_rate"] == 0.75 and d["first_choice_share"] == 0.8
    assert d["phases"][1] == {"name": "match", "seconds": 10.0, "requests": 8, "settling_seconds": 9.5}


def test_report_of_a_season_where_nobody_ranked_divides_by_nothing():
    r = Report("2024", applicants=3, programs=1)
    assert (r.fill_rate, r.match_rate, r.first_choice_share) == (0.0, 0.0, 0.0)


def test_the_season_calendar_keeps_the_order_and_moves_later_instants_far():
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    cal = season_calendar(start)
    assert list(cal) == list(CALENDAR_OFFSETS)
    instants = [parse_instant(v) for v in cal.values()]
    assert instants == sorted(instants) and instants[0] == start
    far = season_calendar(start, far_after="invitations_open")
    assert far["invitations_open"] == cal["invitations_open"]
    assert (parse_instant(far["crip_start"]) - parse_instant(cal["crip_start"])).days == FAR


@pytest.mark.parametrize("demo", ["bogus", "0/3", "5/0", "5/900", "5/"])
def test_make_run_refuses_a_demo_size_it_cannot_play(demo, capsys):
    with pytest.raises(SystemExit) as exc:
        caspr_local_main(["--demo", demo])
    assert exc.value.code == 2
    assert "small, large or APPLICANTS/PROGRAMS" in capsys.readouterr().err
