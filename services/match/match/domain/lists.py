"""From the stored rank order lists to the SNAPSHOT document the engine runs on (M1, M3, M7).

Only certified lists count (M1). Withdrawn applicants and tracks keep their place
in the snapshot (and on the other side's lists) and are named in ``withdrawn``, so
the run skips them (M3). Applicants are identified by their code number, tracks by
their track code (5 and 4 digits: never ambiguous, as the snapshot requires).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from match.domain.rol import ApplicantInfo, RankOrderList


def snapshot_document(
    applicants: Iterable[ApplicantInfo],
    positions: Mapping[str, int],
    lists: Iterable[RankOrderList],
    withdrawn_tracks: Iterable[str] = (),
) -> dict:
    """`applicants`: who takes part in this round (MPII: its participants only);
    `positions`: track code -> positions in this round (MPII: unfilled after the Match);
    `lists`: the round's stored lists, certified or not; `withdrawn_tracks`: tracks withdrawn
    now (they keep their place on applicants' lists and are named in ``withdrawn``, M3)."""
    people = {a.code_number: a for a in applicants}
    by_id = {a.applicant_id: a.code_number for a in people.values()}
    doc_applicants: dict[str, list[str]] = {code: [] for code in sorted(people)}
    doc_tracks: dict[str, dict] = {code: {"positions": int(n), "ranks": []} for code, n in sorted(positions.items())}
    for rol in lists:
        if not rol.counts:  # M1: an uncertified list does not count
            continue
        if rol.kind == "applicant":
            code = by_id.get(rol.owner)
            if code is not None:
                doc_applicants[code] = [t for t in rol.entries if t in doc_tracks]
        elif rol.owner in doc_tracks:
            doc_tracks[rol.owner]["ranks"] = [c for c in rol.entries if c in doc_applicants]
    for entries in doc_applicants.values():  # a list names each entry once (validated on edit; kept safe)
        entries[:] = list(dict.fromkeys(entries))
    for track in doc_tracks.values():
        track["ranks"] = list(dict.fromkeys(track["ranks"]))
    withdrawn = sorted({code for code, a in people.items() if a.withdrawn}  # M3
                       | {code for code in withdrawn_tracks if code in doc_tracks})
    return {"applicants": doc_applicants, "tracks": doc_tracks, "withdrawn": withdrawn}
