"""Studies: submit, advance (finished runs → rules → next stage's jobs), cancel, report.

The programme itself lives in `cricket_gnn.studies`; this module maps it onto jobs and
runs. `cricket_gnn.studies.machine` pulls in numpy/scipy/torch, so it is imported only
when a study is advanced or reported, keeping it out of the API's start-up.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import (
    TERMINAL_STATUSES,
    Run,
    RunStatus,
    SessionFactory,
    Study,
    StudyExperiment,
    StudyStatus,
    transaction,
    utcnow,
)
from api.errors import ConflictError, InvalidRequestError, NotFoundError, describe_validation_errors
from api.jobs.schemas import RunBrief, TrainingConfig
from api.jobs.service import canonical_hash, job_status, new_job
from api.maintenance.dispatcher import Dispatcher
from api.runs.service import cancel_run
from api.settings import PROJECT_ROOT, Settings
from api.studies import repository
from api.studies.schemas import (
    StudyCreate,
    StudyDecisionRead,
    StudyExperimentRead,
    StudyPage,
    StudyRead,
    StudySummary,
)
from cricket_gnn.studies.experiments import config_key
from cricket_gnn.studies.spec import STAGE1_GRID, StudySpec

if TYPE_CHECKING:
    from cricket_gnn.studies.machine import StudyProgress
    from cricket_gnn.studies.stats import SeedRun

log = logging.getLogger(__name__)
#: Service-only options stored beside the StudySpec fields in `studies.spec`.
_EXECUTION_KEYS = ("priority", "nproc")


class StudyDataError(ValueError):
    """A finished run cannot feed the study (no metrics or predictions file)."""


def spec_of(study: Study) -> StudySpec:
    return StudySpec.from_dict({k: v for k, v in study.spec.items() if k not in _EXECUTION_KEYS})


def submit_study(
    session: Session,
    dispatcher: Dispatcher,
    payload: StudyCreate,
    *,
    idempotency_key: str | None,
    attempt_limit: int,
) -> tuple[Study, bool]:
    """Create the study and its first stage's jobs; True if the key replayed an earlier one."""
    request_hash = canonical_hash(payload.model_dump(mode="json"))
    if idempotency_key:
        existing = repository.get_study_by_idempotency_key(session, idempotency_key)
        if existing is not None:
            return _replay(existing, idempotency_key, request_hash), True
    try:
        spec = StudySpec.from_dict(payload.spec_dict())
    except ValueError as exc:
        raise InvalidRequestError(
            f"The study is invalid: {exc}", hint="Fix the field named and send it again."
        ) from exc
    _check_configs(spec, payload.nproc)
    now = utcnow()
    study = Study(
        name=payload.name,
        template=payload.template,
        spec={**spec.to_dict(), "priority": payload.priority, "nproc": payload.nproc},
        status=StudyStatus.RUNNING,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            repository.add(session, study)
    except IntegrityError:
        existing = (
            repository.get_study_by_idempotency_key(session, idempotency_key)
            if idempotency_key
            else None
        )
        if existing is None:
            raise
        return _replay(existing, idempotency_key or "", request_hash), True
    advance_study(session, dispatcher, study, attempt_limit)
    session.expire_all()  # reload the experiments and jobs just added
    return get_study(session, study.id), False


def _replay(study: Study, key: str, request_hash: str) -> Study:
    if study.request_hash != request_hash:
        raise ConflictError(
            f"Idempotency-Key '{key}' was already used for a different request (study {study.id}).",
            hint=f"Send a new Idempotency-Key for a new study, or resend the original body "
            f"unchanged to get study {study.id} back.",
        )
    return study


def _check_configs(spec: StudySpec, nproc: int) -> None:
    """Every value the study will try must be a valid job, or the request is a 422 now."""
    base = spec.base_config()
    variants: list[dict[str, Any]] = [{**base, "model": m} for m in ("base", "pooling", "full")]
    for parameter in STAGE1_GRID:
        variants += [{**base, "model": "base", parameter: v} for v in spec.stage1_grid()[parameter]]
    for config in variants:
        try:
            job_config(config, nproc, spec)
        except ValidationError as exc:
            errors = describe_validation_errors(list(exc.errors()))
            raise InvalidRequestError(
                "A configuration this study would train is invalid: "
                + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                hint="Change base or grid so that every value tried is valid.",
                errors=errors,
            ) from exc


def job_config(config: dict[str, Any], nproc: int, spec: StudySpec | None = None) -> dict[str, Any]:
    """An experiment's configuration as a job's (validated, defaults filled in)."""
    values = dict(config)
    if spec is not None:
        values.setdefault("epochs", spec.epochs)
        values.setdefault("data_fraction", spec.data_fraction)
    validated = TrainingConfig(**values, nproc=nproc)
    return {name: getattr(validated, name) for name in TrainingConfig.model_fields}


def get_study(session: Session, study_id: int) -> Study:
    study = repository.get_study(session, study_id)
    if study is None:
        raise NotFoundError(
            f"Study {study_id} does not exist.", hint="Use the id returned by POST /v1/studies."
        )
    return study


def _seed_run(run: Run) -> SeedRun:
    from cricket_gnn.studies.stats import SeedRun

    metrics_path = (run.final_metrics or {}).get("metrics_path")
    if not metrics_path or not Path(metrics_path).is_file():
        raise StudyDataError(f"run {run.id} finished without a metrics file ({metrics_path})")
    result = json.loads(Path(metrics_path).read_text())
    if not result.get("predictions_path"):
        raise StudyDataError(f"run {run.id} wrote no predictions file; retrain it")
    return SeedRun(
        seed=int(run.seed),
        predictions=str(result["predictions_path"]),
        run_ref=f"run {run.id}",
        val_log_loss_history=tuple(float(h["val_log_loss"]) for h in result.get("history", [])),
    )


def _results(study: Study, *, strict: bool) -> dict[tuple[str, int], SeedRun]:
    results = {}
    for experiment in study.experiments:
        key = config_key(experiment.config)
        for run in experiment.job.runs:
            if run.status == RunStatus.SUCCEEDED:
                try:
                    results[(key, int(run.seed))] = _seed_run(run)
                except StudyDataError:
                    if strict:
                        raise
    return results


def advance_study(
    session: Session, dispatcher: Dispatcher, study: Study, attempt_limit: int
) -> None:
    """If every run of the study has finished: decide what can be decided, queue what's next."""
    from cricket_gnn.studies.machine import advance

    runs = repository.study_runs(session, study.id)
    if any(run.status not in TERMINAL_STATUSES for run in runs):
        return
    lost = [run for run in runs if run.status != RunStatus.SUCCEEDED]
    if lost:
        reasons = "; ".join(
            f"run {r.id} ({r.run_name}) {r.status}: {r.status_reason}" for r in lost
        )
        _finish(study, StudyStatus.FAILED, f"a run did not succeed: {reasons}")
        return
    session.expire(study)
    study = get_study(session, study.id)
    progress = advance(spec_of(study), _results(study, strict=True))
    _record_decisions(session, study, progress)
    study.stage = progress.stage
    study.updated_at = utcnow()
    if progress.done:
        study.final_config = progress.final_config
        _finish(study, StudyStatus.SUCCEEDED, "every stage decided")
        return
    _queue_experiments(session, dispatcher, study, progress, attempt_limit)


def _finish(study: Study, status: str, reason: str) -> None:
    study.status = status
    study.status_reason = reason
    study.finished_at = study.updated_at = utcnow()


def _record_decisions(session: Session, study: Study, progress: StudyProgress) -> None:
    decided = repository.decided_steps(study)
    new = [
        repository.new_decision(study.id, d["stage"], d["step"], d)
        for d in progress.decisions
        if d["step"] not in decided
    ]
    if new:
        repository.add(session, *new)


def _queue_experiments(
    session: Session,
    dispatcher: Dispatcher,
    study: Study,
    progress: StudyProgress,
    attempt_limit: int,
) -> None:
    """A row per planned experiment; a job only for a configuration not trained yet."""
    rows = {(e.stage, e.name) for e in study.experiments}
    jobs = {config_key(e.config): e.job for e in study.experiments}
    priority, nproc = int(study.spec["priority"]), int(study.spec["nproc"])
    spec = spec_of(study)
    for experiment in progress.experiments:
        if (experiment.stage, experiment.name) in rows:
            continue
        rows.add((experiment.stage, experiment.name))
        key = experiment.config_key
        reused = key in jobs
        if not reused:
            config = job_config(dict(experiment.config), nproc, spec)
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"study{study.id}-{experiment.key}")
            job = new_job(
                config=config,
                seeds=experiment.seeds,
                priority=priority,
                run_name=name[:100],
                attempt_limit=attempt_limit,
                request_hash=canonical_hash(config),
            )
            job.study_id = study.id
            repository.add(session, job)
            dispatcher.dispatch_after_commit(session, job.runs)
            jobs[key] = job
        row = StudyExperiment(
            study_id=study.id,
            stage=experiment.stage,
            name=experiment.name,
            job_id=jobs[key].id,
            reused=reused,
            config=dict(experiment.config),
            created_at=utcnow(),
        )
        repository.add(session, row)


def advance_studies(
    session_factory: SessionFactory, dispatcher: Dispatcher, attempt_limit: int
) -> None:
    """One maintenance step: advance every running study whose runs have all finished."""
    with session_factory() as session:
        study_ids = repository.running_study_ids(session)
    for study_id in study_ids:
        with transaction(session_factory) as session:
            study = repository.lock_running_study(session, study_id)
            if study is None:
                continue  # finished meanwhile, or another API replica holds it
            try:
                with session.begin_nested():
                    advance_study(session, dispatcher, study, attempt_limit)
            except (ValueError, FileNotFoundError, KeyError) as exc:
                # Bad data, not a hiccup: stop the study with the reason instead of retrying.
                log.exception("study %s cannot advance", study_id)
                study = get_study(session, study_id)
                _finish(study, StudyStatus.FAILED, f"cannot advance: {exc}")


def cancel_study(session: Session, dispatcher: Dispatcher, study_id: int) -> Study:
    """Stop the study and cancel its queued and running runs."""
    study = repository.get_study(session, study_id, for_update=True)
    if study is None:
        raise NotFoundError(f"Study {study_id} does not exist.", hint="GET /v1/studies/{id}.")
    if study.status != StudyStatus.RUNNING:
        raise ConflictError(
            f"Study {study_id} has already {study.status}; there is nothing to cancel.",
            hint="Submit a new study (POST /v1/studies) to run it again.",
        )
    cancelled = 0
    for run in repository.study_runs(session, study_id):
        if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            cancel_run(session, dispatcher, run.id)
            cancelled += 1
    _finish(study, StudyStatus.CANCELLED, f"cancelled by request; {cancelled} run(s) cancelled")
    session.flush()
    return get_study(session, study_id)


def resources_path(settings: Settings) -> Path:
    path = settings.study_resources
    return path if path.is_absolute() else PROJECT_ROOT / path


def study_report(session: Session, study_id: int, settings: Settings) -> dict[str, Any]:
    """The report of the study as it stands (finished stages filled in)."""
    from cricket_gnn.studies.machine import advance
    from cricket_gnn.studies.report import make_report

    study = get_study(session, study_id)
    progress = advance(spec_of(study), _results(study, strict=False))
    header = {
        "id": study.id,
        "name": study.name,
        "status": study.status,
        "status_reason": study.status_reason,
        "created_at": study.created_at.isoformat(),
        "finished_at": study.finished_at.isoformat() if study.finished_at else None,
    }
    return make_report(progress.to_dict(), header, resources_path(settings))


def to_read(study: Study) -> StudyRead:
    experiments = [
        StudyExperimentRead(
            stage=e.stage,
            name=e.name,
            job_id=e.job_id,
            reused=e.reused,
            status=job_status([run.status for run in e.job.runs]),
            config=e.config,
            runs=[RunBrief.model_validate(run) for run in e.job.runs],
        )
        for e in study.experiments
    ]
    return StudyRead(
        id=study.id,
        name=study.name,
        template=study.template,
        status=study.status,
        stage=study.stage,
        status_reason=study.status_reason,
        spec={k: v for k, v in study.spec.items() if k not in _EXECUTION_KEYS},
        priority=int(study.spec.get("priority", 5)),
        final_config=study.final_config,
        created_at=study.created_at,
        updated_at=study.updated_at,
        finished_at=study.finished_at,
        experiments=experiments,
        decisions=[
            StudyDecisionRead(
                stage=d.stage, step=d.step, decision=d.decision, created_at=d.created_at
            )
            for d in study.decisions
        ],
        links={
            "self": f"/v1/studies/{study.id}",
            "report": f"/v1/studies/{study.id}/report",
            "cancel": f"/v1/studies/{study.id}/cancel",
        },
    )


def list_studies(session: Session, *, limit: int, offset: int) -> StudyPage:
    """Studies newest first."""
    rows, total = repository.list_studies(session, limit=limit, offset=offset)
    return StudyPage(
        items=[StudySummary.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
