"""HTTP routes of the match service (base path /match): parse -> use case -> response model.

Rank order lists (M1, M3; MPII round M7 under /mpii/):
  GET|PUT /seasons/{season}/applicants/{applicant_id}/rol            applicant (its own; id, code or `me`), admin
  POST    /seasons/{season}/applicants/{applicant_id}/rol/certification
  GET|PUT /seasons/{season}/tracks/{track_code}/rol                  the track's program account, admin
  POST    /seasons/{season}/tracks/{track_code}/rol/certification
  ...     /seasons/{season}/mpii/applicants/... and /mpii/tracks/...  the same for the MPII round
  GET     /seasons/{season}/tracks                                   tracks of the season (to rank)
  GET     /seasons/{season}/mpii                                     MPII participants (M7)
Runs (M4), administrators:
  POST    /seasons/{season}/runs        start the season's run (idempotent: returns the existing run)
  GET     /seasons/{season}/runs        GET /seasons/{season}/runs/{run_id}   progress of a run
Results (M5, M6, M8):
  GET     /seasons/{season}/results/me                        the caller's own (applicant or program)
  GET     /seasons/{season}/applicants/{applicant_id}/result  GET /seasons/{season}/programs/{program_code}/result
  GET     /seasons/{season}/results                           administrators: everything + statistics
  GET     /seasons/{season}/post-match                        the Post-Match list (after Match Day)
  GET     /seasons/{season}/statistics                        administrators: figures of each stored round
  GET     /seasons/{season}/statistics.csv                    the same, one row per track per round (CSV)
  GET     /seasons/{season}/statistics-summary.csv            the same, one row per round: totals, rates, choices
A Match anyone can check (issue 12):
  GET     /seasons/{season}/audit                             the seal of each round (signed in)
  GET     /seasons/{season}/audit/{round}/snapshot|result     administrators: the exact files, to re-verify
  GET     /seasons/{season}/applicants/{applicant_id}/explanation   from Match Day: why not the tracks ranked higher
  GET     /seasons/{season}/tracks/{track_code}/explanation         from Match Day: why not the applicants ranked higher
"""

from __future__ import annotations

import re

from chalice import Response

from match import bootstrap, handlers
from match.domain.season import MATCH, MPII
from match.schemas import (
    AdminResultsOut,
    ApplicantExplanationOut,
    ApplicantResultOut,
    ApplicantRolIn,
    ApplicantRolOut,
    AuditOut,
    CertificationQuery,
    Health,
    MpiiOut,
    MyResultOut,
    PostMatchOut,
    ProgramResultOut,
    RunOut,
    RunsOut,
    SeasonTracksOut,
    StatisticsOut,
    TrackExplanationOut,
    TrackRolIn,
    TrackRolOut,
)
from shared import health
from shared.errors import FieldError, ValidationFailed
from shared.web import PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="match", verifier=lambda: bootstrap.container().platform.verifier)
_SEASON = re.compile(r"^[A-Za-z0-9_-]{1,40}\Z")
_TRACK = re.compile(r"^[0-9]{4}\Z")
_PROGRAM = re.compile(r"^[0-9]{3}\Z")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}\Z")  # applicant ids, code numbers, `me`, run ids


def svc():
    return bootstrap.container()


def _season(season: str) -> str:
    if not _SEASON.match(season or ""):
        raise ValidationFailed("the season in the path is invalid", errors=[FieldError(
            "season", "1-40 letters, digits, '-' or '_', e.g. 2024")])
    return season


def _id(value: str, name: str) -> str:
    """Ids in the path: short and plain (a DynamoDB key takes at most 1 KB; a longer one
    would fail as a store error instead of being refused)."""
    if not _ID.match(value or ""):
        raise ValidationFailed(f"the {name} in the path is invalid", errors=[FieldError(
            name, "1-100 letters, digits, '-' or '_'")])
    return value


def _track(code: str) -> str:
    if not _TRACK.match(code or ""):
        raise ValidationFailed("the track code in the path is invalid", errors=[FieldError(
            "track_code", "4 digits: program code + track digit, e.g. 1011")])
    return code


@bp.endpoint("/health", "GET", summary="Health of the match service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("match", bootstrap.container().platform.settings)


# ----------------------------------------------------------------------------- rank order lists
def _rol_routes(rnd: str, prefix: str) -> None:
    label = "MPII" if rnd == MPII else "Match"
    rule = "M7" if rnd == MPII else "M1"
    base = f"/seasons/{{season}}{prefix}"

    def get_applicant(season, applicant_id, principal):
        who = _id(applicant_id, "applicant_id")
        return handlers.get_applicant_rol(svc(), _season(season), rnd, who, principal)

    def put_applicant(season, applicant_id, body: ApplicantRolIn, principal):
        who = _id(applicant_id, "applicant_id")
        return handlers.put_applicant_rol(svc(), _season(season), rnd, who, body.tracks, principal, body.version)

    def certify_applicant(season, applicant_id, query: CertificationQuery, principal):
        who = _id(applicant_id, "applicant_id")
        return handlers.certify_applicant_rol(svc(), _season(season), rnd, who, query.version, principal)

    def get_track(season, track_code, principal):
        return handlers.get_track_rol(svc(), _season(season), rnd, _track(track_code), principal)

    def put_track(season, track_code, body: TrackRolIn, principal):
        return handlers.put_track_rol(svc(), _season(season), rnd, _track(track_code), body.applicants, principal,
                                      body.version)

    def certify_track(season, track_code, query: CertificationQuery, principal):
        return handlers.certify_track_rol(svc(), _season(season), rnd, _track(track_code), query.version, principal)

    for fn in (get_applicant, put_applicant, certify_applicant, get_track, put_track, certify_track):
        fn.__name__ = f"{fn.__name__}_rol_{rnd}"

    applicant_roles = ("applicant", "admin")
    track_roles = ("program", "admin")
    bp.endpoint(f"{base}/applicants/{{applicant_id}}/rol", "GET", response=ApplicantRolOut, roles=applicant_roles,
                summary=f"An applicant's {label} rank order list (applicant_id: id, code number or 'me')",
                errors=(404,))(get_applicant)
    bp.endpoint(f"{base}/applicants/{{applicant_id}}/rol", "PUT", body=ApplicantRolIn, response=ApplicantRolOut,
                roles=applicant_roles, errors=(404, 409),
                summary=f"Replace an applicant's {label} rank order list ({rule}); any edit uncertifies it")(
        put_applicant)
    bp.endpoint(f"{base}/applicants/{{applicant_id}}/rol/certification", "POST", query=CertificationQuery,
                response=ApplicantRolOut, roles=applicant_roles, errors=(404, 409),
                summary=f"Certify an applicant's {label} rank order list; only certified lists count ({rule})")(
        certify_applicant)
    bp.endpoint(f"{base}/tracks/{{track_code}}/rol", "GET", response=TrackRolOut, roles=track_roles,
                summary=f"A track's {label} rank order list (the track's program, administrators)",
                errors=(404,))(get_track)
    bp.endpoint(f"{base}/tracks/{{track_code}}/rol", "PUT", body=TrackRolIn, response=TrackRolOut,
                roles=track_roles, errors=(404, 409),
                summary=f"Replace a track's {label} rank order list ({rule}); any edit uncertifies it")(put_track)
    bp.endpoint(f"{base}/tracks/{{track_code}}/rol/certification", "POST", query=CertificationQuery,
                response=TrackRolOut, roles=track_roles, errors=(404, 409),
                summary=f"Certify a track's {label} rank order list ({rule})")(certify_track)


_rol_routes(MATCH, "")
_rol_routes(MPII, "/mpii")


@bp.endpoint("/seasons/{season}/tracks", "GET", response=SeasonTracksOut,
             summary="Tracks of the season that can be ranked (with positions, and whether in MPII)")
def get_season_tracks(season):
    return {"season": _season(season), "tracks": handlers.season_tracks(svc(), season)}


@bp.endpoint("/seasons/{season}/mpii", "GET", response=MpiiOut, errors=(403,),
             summary="MPII participants (M7): tracks with unfilled positions; unmatched applicants (programs, admin)")
def get_mpii(season, principal):
    return handlers.mpii_view(svc(), _season(season), principal)


# ----------------------------------------------------------------------------- runs
def _run_out(run: dict, created: bool | None = None) -> dict:
    return {**run, "created": created}


@bp.endpoint("/seasons/{season}/runs", "POST", response=RunOut, status=201, roles=("admin",), errors=(409,),
             summary="Start the season's Match run (Step Functions); a second start returns the existing run")
def post_run(season, principal):
    record, _execution, created = handlers.start_run(svc(), _season(season), by=principal.sub)
    view = _run_out(handlers.run_view(svc(), season, record.run_id), created)
    if not created:
        return Response(body=RunOut.model_validate(view).model_dump_json(), status_code=200,
                        headers={"Content-Type": "application/json"})
    return view


@bp.endpoint("/seasons/{season}/runs", "GET", response=RunsOut, roles=("admin",),
             summary="The season's runs and their progress")
def get_runs(season):
    return {"season": _season(season), "runs": handlers.runs_view(svc(), season)}


@bp.endpoint("/seasons/{season}/runs/{run_id}", "GET", response=RunOut, roles=("admin",), errors=(404,),
             summary="Progress of a run: execution status and each step (attempts, times, detail)")
def get_run(season, run_id):
    return handlers.run_view(svc(), _season(season), _id(run_id, "run_id"))


# ----------------------------------------------------------------------------- results
@bp.endpoint("/seasons/{season}/results/me", "GET", response=MyResultOut, errors=(403, 404),
             summary="Your own result (applicant or program), from its release instant (M5, M6)")
def get_my_result(season, principal):
    return handlers.my_result(svc(), _season(season), principal)


@bp.endpoint("/seasons/{season}/applicants/{applicant_id}/result", "GET", response=ApplicantResultOut,
             roles=("applicant", "admin"), errors=(403, 404),
             summary="An applicant's result: matched/unmatched from Match Status Day, program and track from "
                     "Match Day (M5, M6)")
def get_applicant_result(season, applicant_id, principal):
    return handlers.applicant_result(svc(), _season(season), _id(applicant_id, "applicant_id"), principal)


@bp.endpoint("/seasons/{season}/programs/{program_code}/result", "GET", response=ProgramResultOut,
             roles=("program", "admin"), errors=(403, 404),
             summary="A program's result: unfilled positions from Match Status Day, matched applicants from "
                     "Match Day (M5, M6)")
def get_program_result(season, program_code, principal):
    if not _PROGRAM.match(program_code or ""):
        raise ValidationFailed("the program code in the path is invalid",
                               errors=[FieldError("program_code", "3 digits, e.g. 101")])
    return handlers.program_result(svc(), _season(season), program_code, principal)


@bp.endpoint("/seasons/{season}/results", "GET", response=AdminResultsOut, roles=("admin",),
             summary="Administrators: every stored result of the Match and MPII with statistics")
def get_results(season):
    return handlers.admin_results(svc(), _season(season))


@bp.endpoint("/seasons/{season}/post-match", "GET", response=PostMatchOut, errors=(403,),
             summary="The Post-Match list: positions still open after MPII (M8), from Match Day")
def get_post_match(season):
    return handlers.post_match_view(svc(), _season(season))


# ----------------------------------------------------------------------------- audit (issue 12)
_ROUND = re.compile(r"^(match|mpii)\Z")


def _round(value: str) -> str:
    if not _ROUND.match(value or ""):
        raise ValidationFailed("the round in the path is invalid", errors=[FieldError("round", "match or mpii")])
    return value


@bp.endpoint("/seasons/{season}/audit", "GET", response=AuditOut,
             summary="The seal of each round: SHA-256 of the snapshot the run reads (taken when the lists lock) "
                     "and of the stored result file; null until known")
def get_audit(season):
    return handlers.audit_view(svc(), _season(season))


def _file(season: str, rnd: str, what: str) -> Response:
    name, text, url = handlers.audit_download(svc(), _season(season), _round(rnd), what)
    if url is not None:  # too big for a Lambda response: the same bytes from S3
        return Response(body="", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})
    return Response(body=text, status_code=200,
                    headers={"Content-Type": "application/json", "Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


_FILE = {200: {"description": "the exact file whose SHA-256 is published at /audit",
               "content": {"application/json": {"schema": {"type": "object"}}}},
         303: {"description": "a file too big for one response (over ~6 MB of JSON): Location is a presigned "
                              "S3 URL of the same exact bytes, valid for 5 minutes"}}


@bp.endpoint("/seasons/{season}/audit/{round}/snapshot", "GET", roles=("admin",), errors=(404, 422), responses=_FILE,
             summary="Administrators: the round's snapshot file (canonical JSON; its SHA-256 is snapshot_sha256), "
                     "for `caspr-match verify`")
def get_audit_snapshot(season, round):
    return _file(season, round, "snapshot")


@bp.endpoint("/seasons/{season}/audit/{round}/result", "GET", roles=("admin",), errors=(404, 422), responses=_FILE,
             summary="Administrators: the round's stored result file (its SHA-256 is result_sha256), "
                     "for `caspr-match verify`")
def get_audit_result(season, round):
    return _file(season, round, "result")


@bp.endpoint("/seasons/{season}/applicants/{applicant_id}/explanation", "GET", response=ApplicantExplanationOut,
             roles=("applicant", "admin"), errors=(403, 404, 409, 422),
             summary="From Match Day: for each track the applicant ranked above its match (all, if unmatched), "
                     "'did not rank you' or 'filled all its positions with applicants it ranked above you'")
def get_applicant_explanation(season, applicant_id, principal):
    return handlers.applicant_explanation(svc(), _season(season), _id(applicant_id, "applicant_id"), principal)


@bp.endpoint("/seasons/{season}/tracks/{track_code}/explanation", "GET", response=TrackExplanationOut,
             roles=("program", "admin"), errors=(403, 404, 409, 422),
             summary="From Match Day: for each applicant the track ranked above one it matched, 'matched to a "
                     "program they ranked higher' or 'did not rank this track' (no identities)")
def get_track_explanation(season, track_code, principal):
    return handlers.track_explanation(svc(), _season(season), _track(track_code), principal)


# ----------------------------------------------------------------------------- statistics (M5, M6, M8)
def _round_figures(r) -> dict:
    from dataclasses import asdict

    return {**asdict(r), "positions_unfilled": r.positions_unfilled}


@bp.endpoint("/seasons/{season}/statistics", "GET", response=StatisticsOut, roles=("admin",), errors=(404, 409, 422),
             summary="Administrators: per round (match, mpii) positions offered and filled, fill rate, applicants "
                     "who ranked and matched, match rate, the share matched to their 1st/2nd/3rd/4th+ choice, "
                     "and per track positions, filled, unfilled and applicants ranking it; from the stored "
                     "snapshot and result")
def get_statistics(season):
    rounds = handlers.season_statistics(svc(), _season(season))
    return {"season": season, "rounds": [_round_figures(r) for r in rounds]}


_CSV = {200: {"description": "CSV (RFC 4180), header first",
              "content": {"text/csv": {"schema": {"type": "string"}}}}}


def _csv(season: str, name: str, text: str) -> Response:
    return Response(body=text, status_code=200,
                    headers={"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
                             "Content-Disposition": f'attachment; filename="caspr-{season}-{name}.csv"'})


@bp.endpoint("/seasons/{season}/statistics.csv", "GET", roles=("admin",), errors=(404, 409, 422), responses=_CSV,
             summary="Administrators: the statistics as CSV, one row per track per round (round, track, program, "
                     "positions, filled, unfilled, fill rate, applicants ranking it, withdrawn)")
def get_statistics_csv(season):
    from match.domain.statistics import tracks_csv

    return _csv(season, "statistics-tracks", tracks_csv(handlers.season_statistics(svc(), _season(season))))


@bp.endpoint("/seasons/{season}/statistics-summary.csv", "GET", roles=("admin",), errors=(404, 409, 422), responses=_CSV,
             summary="Administrators: the statistics' summary as CSV, one row per round (offered, filled, fill "
                     "rate, ranked, matched, match rate, matched to 1st/2nd/3rd/4th+ choice and their shares)")
def get_statistics_summary_csv(season):
    from match.domain.statistics import summary_csv

    return _csv(season, "statistics-summary", summary_csv(handlers.season_statistics(svc(), _season(season))))
