"""HTTP routes of the scores service (base path /scores): parse, call a use case, serialize."""

from __future__ import annotations

from scores import bootstrap, handlers
from scores.domain.release import Release
from scores.domain.self_reported import VERIFIED, SelfReport
from scores.schemas import (
    AttemptOut,
    CspeRuleIn,
    CspeRulesIn,
    CspeRulesOut,
    EligibilityOut,
    Health,
    KeptRow,
    KeptRows,
    ReleaseIn,
    ReleaseOut,
    ResultsOut,
    SelfReportIn,
    SelfReportList,
    SelfReportOut,
    UploadForm,
    UploadOut,
    VerificationIn,
)
from shared import health
from shared.web import ANY_ROLE, PUBLIC, ApiBlueprint

APPLICANT = ("applicant",)  # and administrators (require_role lets them through)
ADMIN = ("admin",)
# the NBPME upload is a CSV body: Chalice refuses bodies of types a route does not list (415)
CSV_TYPES = ["text/csv", "text/plain", "application/csv", "application/octet-stream", "application/json"]


class ScoresBlueprint(ApiBlueprint):
    """An ApiBlueprint whose routes listed in `raw_bodies` accept non-JSON bodies."""

    raw_bodies: dict[str, list[str]] = {"/seasons/{season}/results": CSV_TYPES}

    def route(self, path: str, **kwargs):
        if path in self.raw_bodies and kwargs.get("methods") == ["POST"]:
            kwargs["content_types"] = self.raw_bodies[path]
        return super().route(path, **kwargs)


bp = ScoresBlueprint(__name__, tag="scores", verifier=lambda: bootstrap.container().verifier)


def svc() -> bootstrap.Scores:
    return bootstrap.container()


def release_out(r: Release) -> ReleaseOut:
    return ReleaseOut(applicant_id=r.applicant_id, att_number=r.att_number, cms_id=r.cms_id, name_at_exam="",
                      explanation=r.explanation, authorize_part1=r.authorize_part1,
                      authorize_part2=r.authorize_part2, released_at=r.released_at, on_time=r.on_time)


@bp.endpoint("/health", "GET", summary="Health of the scores service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("scores", svc().platform.settings)


# ----------------------------------------------------------------------------- the release (S1, S2)
@bp.endpoint("/applicants/{applicant_id}/release", "PUT", summary="Sign the APMLE score release (S1, S2): the "
             "applicant or an administrator. name_at_exam is stored and always comes back blank",
             body=ReleaseIn, response=ReleaseOut, roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def put_release(applicant_id: str, body: ReleaseIn, principal):
    return release_out(handlers.put_release(svc(), principal, applicant_id, body.model_dump()))


@bp.endpoint("/applicants/{applicant_id}/release", "GET", summary="The applicant's score release (name_at_exam "
             "blank, S1)", response=ReleaseOut, roles=APPLICANT, errors=(401, 403, 404))
def get_release(applicant_id: str, principal):
    return release_out(handlers.get_release(svc(), principal, applicant_id))


# ----------------------------------------------------------------------------- results (S3, S6)
@bp.endpoint("/seasons/{season}/results", "POST", summary="Upload NBPME results (administrators, S3): a text/csv "
             "body with the header att_number,cms_id,exam,exam_date,result", response=UploadOut, roles=ADMIN,
             errors=(401, 403, 415, 422))
def post_results(season: str, principal, request):
    s = handlers.upload_results(svc(), principal, season, request.raw_body)
    return UploadOut(upload_id=s.upload_id, rows=s.rows, recorded=s.recorded, duplicates=s.duplicates,
                     unmatched=s.unmatched, invalid=s.invalid)


@bp.endpoint("/seasons/{season}/results/unmatched", "GET", summary="NBPME rows kept unmatched (administrators, "
             "S3): each is recorded when a matching release arrives", response=KeptRows, roles=ADMIN,
             errors=(401, 403, 422))
def get_unmatched(season: str):
    rows = handlers.unmatched_rows(svc(), season)
    return KeptRows(season=season, unmatched=[
        KeptRow(row=r.row, att_number=r.att_number, cms_id=r.cms_id, exam=r.exam, exam_date=r.exam_date,
                result=r.result, reason=reason) for r, reason in rows])


@bp.endpoint("/applicants/{applicant_id}/results", "GET", summary="The applicant's exam attempts, pass/fail "
             "(the applicant or an administrator; programs see results through their applications)",
             response=ResultsOut, roles=APPLICANT, errors=(401, 403, 404))
def get_results(applicant_id: str, principal):
    return ResultsOut(attempts=[AttemptOut(exam=a.exam, exam_date=a.exam_date, result=a.result, official=a.official)
                                for a in handlers.results(svc(), principal, applicant_id)])


# ----------------------------------------------------------------------------- CSPE and eligibility (S4)
def _cspe_out(season: str, rules, version: int) -> CspeRulesOut:
    return CspeRulesOut(season=season, version=version, rules=[
        CspeRuleIn(class_from=r.class_from, class_to=r.class_to, cspe=r.cspe) for r in rules])


@bp.endpoint("/seasons/{season}/cspe-rules", "PUT", summary="Set the season's CSPE requirement by graduating "
             "class (administrators, S4); overlapping ranges are refused", body=CspeRulesIn,
             response=CspeRulesOut, roles=ADMIN, errors=(401, 403, 409, 422))
def put_cspe_rules(season: str, body: CspeRulesIn):
    rules, version = handlers.put_cspe_rules(svc(), season, [r.model_dump() for r in body.rules])
    return _cspe_out(season, rules, version)


@bp.endpoint("/seasons/{season}/cspe-rules", "GET", summary="The season's CSPE table (S4)",
             response=CspeRulesOut, roles=ANY_ROLE, errors=(401, 422))
def get_cspe_rules(season: str):
    rules, version = handlers.get_cspe_rules(svc(), season)
    return _cspe_out(season, rules, version)


@bp.endpoint("/applicants/{applicant_id}/eligibility", "GET", summary="What the recorded results allow: "
             "applications (A3), the Match (S4, S5)", response=EligibilityOut, roles=APPLICANT,
             errors=(401, 403, 404))
def get_eligibility(applicant_id: str, principal):
    e = handlers.applicant_eligibility(svc(), principal, applicant_id)
    return EligibilityOut(part1_passed=e.part1_passed, part2_written_passed=e.part2_written_passed, cspe=e.cspe,
                          cspe_passed=e.cspe_passed, may_apply=e.may_apply, match_eligible=e.match_eligible,
                          reasons=list(e.reasons))


# ----------------------------------------------------------------------------- self-reported (S7)
def self_report_out(r: SelfReport, upload: dict | None = None) -> SelfReportOut:
    return SelfReportOut(self_reported_id=r.report_id, applicant_id=r.applicant_id, exam=r.exam,
                         exam_date=r.exam_date, result=r.result, official=r.status == VERIFIED, status=r.status,
                         upload=UploadForm(**upload) if upload else None)


@bp.endpoint("/applicants/{applicant_id}/self-reported", "POST", summary="A previous graduate reports their own "
             "Part II result (S7): listed as unofficial until an administrator verifies it; upload the PDF score "
             "report to the presigned form returned", body=SelfReportIn, response=SelfReportOut, status=201,
             roles=APPLICANT, errors=(401, 403, 404, 422))
def post_self_report(applicant_id: str, body: SelfReportIn, principal):
    report, upload = handlers.self_report(svc(), principal, applicant_id, body.exam, body.exam_date, body.result)
    return self_report_out(report, upload)


@bp.endpoint("/self-reported", "GET", summary="Self-reported results awaiting verification (administrators, S7)",
             response=SelfReportList, roles=ADMIN, errors=(401, 403))
def list_self_reports():
    return SelfReportList(self_reported=[self_report_out(r) for r in handlers.pending_self_reports(svc())])


@bp.endpoint("/self-reported/{report_id}/verification", "POST", summary="Verify (official from now on) or reject "
             "a self-reported result (administrators, S7); verifying needs its PDF", body=VerificationIn,
             response=SelfReportOut, roles=ADMIN, errors=(401, 403, 404, 409, 422))
def post_verification(report_id: str, body: VerificationIn, principal):
    return self_report_out(handlers.verify_self_report(svc(), principal, report_id, body.verified))
