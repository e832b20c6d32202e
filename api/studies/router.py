"""/v1/studies: the training guide's programme, run by the service, decided and reported."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import DispatcherDep, SessionDep, SettingsDep, mark_submitted
from api.ids import MAX_ROW_ID, RowIdPath
from api.jobs.router import IdempotencyKey
from api.studies import service
from api.studies.schemas import StudyCreate, StudyPage, StudyRead

router = APIRouter(prefix="/v1/studies", tags=["studies"])

ReportFormat = Literal["json", "markdown", "csv"]
_MEDIA_TYPES = {"markdown": "text/markdown; charset=utf-8", "csv": "text/csv; charset=utf-8"}


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=StudyRead)
def submit_study(
    payload: StudyCreate,
    session: SessionDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> StudyRead:
    """Start a study: its first experiments are queued now, later stages as decisions land."""
    study, replayed = service.submit_study(
        session,
        dispatcher,
        payload,
        idempotency_key=idempotency_key,
        attempt_limit=settings.max_attempts,
    )
    mark_submitted(response, f"/v1/studies/{study.id}", replayed)
    return service.to_read(study)


@router.get("", response_model=StudyPage)
def list_studies(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
) -> StudyPage:
    """Studies, newest first: status and current stage of each."""
    return service.list_studies(session, limit=limit, offset=offset)


@router.get("/{study_id}", response_model=StudyRead)
def read_study(study_id: RowIdPath, session: SessionDep) -> StudyRead:
    """Stage, experiments with their runs, and every decision with the numbers behind it."""
    return service.to_read(service.get_study(session, study_id))


@router.post("/{study_id}/cancel", response_model=StudyRead)
def cancel_study(study_id: RowIdPath, session: SessionDep, dispatcher: DispatcherDep) -> StudyRead:
    """Stop the study and cancel its queued and running runs."""
    return service.to_read(service.cancel_study(session, dispatcher, study_id))


def _format_from_accept(accept: str | None) -> ReportFormat:
    accept = accept or ""
    if "text/markdown" in accept:
        return "markdown"
    if "text/csv" in accept:
        return "csv"
    return "json"


@router.get(
    "/{study_id}/report",
    responses={
        200: {
            "content": {"application/json": {}, "text/markdown": {}, "text/csv": {}},
            "description": "The guide's tables, filled; format by ?format= or Accept.",
        }
    },
)
def study_report(
    study_id: RowIdPath,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[ReportFormat | None, Query(description="json, markdown or csv")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The report: every number mean ± sd over seeds, paired tests, decisions, final config."""
    from cricket_gnn.studies.report import render

    chosen = format or _format_from_accept(accept)
    report = service.study_report(session, study_id, settings)
    if chosen == "json":
        return JSONResponse(report)
    return PlainTextResponse(render(report, chosen), media_type=_MEDIA_TYPES[chosen])
