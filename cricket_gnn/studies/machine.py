"""The study state machine: from the spec and the finished runs, what happens next.

`advance` replays the programme from the start every time: a stage whose experiments
have all finished is decided (deterministically: fixed bootstrap seed), and the next
stage is planned from that decision, until an experiment is missing a run — those are
returned as `waiting` — or the study is done. Both executors (local and service) call it;
neither keeps decisions of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cricket_gnn.studies import experiments as plans
from cricket_gnn.studies import rules
from cricket_gnn.studies.experiments import ABLATED_COMPONENT, Experiment
from cricket_gnn.studies.spec import StudySpec

if TYPE_CHECKING:
    # stats needs scipy and the evaluation package (which imports torch): it is imported
    # only once there are results to score, so planning a study's first runs stays cheap.
    from cricket_gnn.studies.stats import Comparison, PredictionCache, SeedRun

RunKey = tuple[str, int]  # (experiment config_key, seed)
PHASE_GROUPS = ("powerplay", "middle_1", "middle_2", "death_1", "death_2")
BEST_CONFIG_KEYS = ("hidden_dim", "num_layers", "num_heads", "lr", "dropout")


@dataclass
class StudyProgress:
    """Where a study stands: planned experiments, what it waits for, decisions so far."""

    spec: StudySpec
    stage: str | None = None
    done: bool = False
    experiments: list[Experiment] = field(default_factory=list)
    waiting: list[Experiment] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    final_config: dict[str, Any] | None = None

    def missing_runs(self, runs: Mapping[RunKey, Any]) -> list[tuple[Experiment, list[int]]]:
        """Each waiting experiment with the seeds that have no finished run yet."""
        return [(e, [s for s in e.seeds if (e.config_key, s) not in runs]) for e in self.waiting]

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "stage": self.stage,
            "done": self.done,
            "experiments": [e.to_dict() for e in self.experiments],
            "waiting": [e.key for e in self.waiting],
            "decisions": self.decisions,
            "stages": self.stages,
            "final_config": self.final_config,
        }


class _Program:
    def __init__(
        self, spec: StudySpec, runs: Mapping[RunKey, SeedRun], cache: PredictionCache | None
    ) -> None:
        self.spec = spec
        self.runs = runs
        self._cache = cache
        self.progress = StudyProgress(spec=spec)
        self._first_key: dict[str, str] = {}

    def need(self, stage: str, experiments: Sequence[Experiment]) -> dict[str, Any] | None:
        """Plan the experiments; their seed runs by name once every one has finished."""
        progress = self.progress
        progress.stage = stage
        entry = progress.stages.setdefault(
            stage, {"experiments": [], "summaries": {}, "comparisons": [], "decisions": []}
        )
        for e in experiments:
            progress.experiments.append(e)
            reused = self._first_key.setdefault(e.config_key, e.key)
            entry["experiments"].append(
                {**e.to_dict(), "reused_from": reused if reused != e.key else None}
            )
        missing = [
            e for e in experiments if any((e.config_key, s) not in self.runs for s in e.seeds)
        ]
        if missing:
            progress.waiting = missing
            return None
        from cricket_gnn.studies.stats import summarise

        found = {e.name: [self.runs[(e.config_key, s)] for s in e.seeds] for e in experiments}
        for e in experiments:
            entry["summaries"][e.name] = {
                **summarise(found[e.name], self.cache),
                "runs": [run.run_ref for run in found[e.name]],
            }
        return found

    @property
    def cache(self) -> PredictionCache:
        if self._cache is None:
            from cricket_gnn.studies.stats import PredictionCache

            self._cache = PredictionCache()
        return self._cache

    def compare(
        self, stage: str, found: Mapping[str, Sequence[SeedRun]], a: str, b: str, **kwargs: Any
    ) -> Comparison:
        from cricket_gnn.studies.stats import compare

        spec = self.spec
        comparison = compare(
            (a, found[a]),
            (b, found[b]),
            cache=self.cache,
            alpha=spec.alpha,
            num_resamples=spec.num_resamples,
            bootstrap_seed=spec.bootstrap_seed,
            **kwargs,
        )
        self.progress.stages[stage]["comparisons"].append(comparison.to_dict())
        return comparison

    def compare_both(
        self, stage: str, found: Mapping[str, Sequence[SeedRun]], a: str, b: str, **kwargs: Any
    ) -> Comparison:
        """Val (returned, for decisions) and test (recorded, reported only)."""
        val = self.compare(stage, found, a, b, split="val", **kwargs)
        self.compare(stage, found, a, b, split="test", **kwargs)
        return val

    def decide(self, stage: str, step: str, decision: Mapping[str, Any], **extra: Any) -> None:
        record = {
            "stage": stage,
            "step": step,
            "metric": f"val {rules.DECISION_METRIC} (argmax)",
            **decision,
            **extra,
        }
        self.progress.decisions.append(record)
        self.progress.stages[stage]["decisions"].append(record)

    def evidence(self, stage: str, used: Iterable[Comparison]) -> dict[str, Any]:
        """The numbers behind a decision: val means of each experiment and the comparisons."""
        summaries = self.progress.stages[stage]["summaries"]
        return {
            "val": {
                name: {m: summary["val"]["all"][m] for m in ("macro_f1", "log_loss")}
                for name, summary in summaries.items()
            },
            "comparisons": [c.to_dict() for c in used],
        }

    def mean(self, stage: str, name: str, metric: str, split: str = "val") -> float:
        value = self.progress.stages[stage]["summaries"][name][split]["all"][metric]["mean"]
        return float(value)


def _stage1(p: _Program, hyper: dict[str, Any]) -> dict[str, Any] | None:
    chosen: dict[str, Any] = {}
    for parameter in ("hidden_dim", "num_layers", "lr"):
        step = plans.stage1_step(p.spec, hyper, parameter)
        found = p.need("stage1", step)
        if found is None:
            return None
        rows = [
            (e.config[parameter], p.mean("stage1", e.name, "macro_f1"),
             p.mean("stage1", e.name, "log_loss"))
            for e in step
        ]  # fmt: skip
        decision = rules.choose_best(parameter, rows)
        evidence = [
            {parameter: value, "val_macro_f1": f1, "val_log_loss": loss} for value, f1, loss in rows
        ]
        p.decide("stage1", f"stage1.{parameter}", decision, evidence=evidence)
        hyper = {**hyper, **decision["choice"]}
        chosen[parameter] = next(e for e in step if e.config[parameter] == hyper[parameter])
    best = chosen["lr"]
    runs = [p.runs[(best.config_key, s)] for s in best.seeds]
    criteria = rules.stage1_criteria(
        p.mean("stage1", best.name, "macro_f1"), [r.val_log_loss_history for r in runs]
    )
    best_config = {k: hyper[k] for k in BEST_CONFIG_KEYS}
    p.decide(
        "stage1",
        "stage1",
        {
            "rule": "tuned_in_order_hidden_dim_num_layers_lr",
            "choice": {"best_config_stage1": best_config},
            "summary": f"best_config_stage1 = {best_config}",
        },
        success_criteria=criteria,
        experiment=best.key,
    )
    return hyper


def _stage2(p: _Program, hyper: dict[str, Any]) -> str | None:
    found = p.need("stage2", plans.stage2(p.spec, hyper))
    if found is None:
        return None
    vs = {}
    for a, b in (("pooling", "base"), ("hybrid", "base"), ("pooling", "hybrid")):
        vs[(a, b)] = p.compare_both("stage2", found, a, b, group="all", metric="macro_f1")
        p.compare_both("stage2", found, a, b, group="all", metric="log_loss")
    decision = rules.decide_stage2(vs[("pooling", "base")], vs[("hybrid", "base")],
                                   vs[("pooling", "hybrid")])  # fmt: skip
    p.decide("stage2", "stage2", decision, evidence=p.evidence("stage2", vs.values()))
    return str(decision["choice"]["variant"])


def _stage3(p: _Program, hyper: dict[str, Any], winner: str) -> dict[str, Any] | None:
    found = p.need("stage3", plans.stage3(p.spec, hyper, winner))
    if found is None:
        return None
    film: dict[str, Comparison] = {}
    innings: dict[str, Comparison] = {}
    for group in ("all", *PHASE_GROUPS, "death", "innings_1", "innings_2"):
        film[group] = p.compare_both("stage3", found, "phase_modulated", winner, group=group,
                                     metric="macro_f1")  # fmt: skip
        innings[group] = p.compare_both("stage3", found, "innings_conditional", winner,
                                        group=group, metric="macro_f1")  # fmt: skip
    for variant in ("phase_modulated", "innings_conditional"):
        p.compare_both("stage3", found, variant, winner, group="all", metric="log_loss")
    decision = rules.decide_stage3(
        film["all"], {g: film[g] for g in PHASE_GROUPS}, innings["all"], innings["innings_2"]
    )
    used = [film["all"], *(film[g] for g in PHASE_GROUPS), innings["all"], innings["innings_2"]]
    p.decide("stage3", "stage3", decision, compared_with=winner,
             evidence=p.evidence("stage3", used))  # fmt: skip
    return dict(decision["choice"])


def _stage4(p: _Program, hyper: dict[str, Any]) -> dict[str, Any] | None:
    step = plans.stage4(p.spec, hyper)
    found = p.need("stage4", step)
    if found is None:
        return None
    against_full = {}
    for e in step:
        if e.name == "A6":
            continue
        c = p.compare_both("stage4", found, e.name, "A6", group="all", metric="macro_f1")
        p.compare_both("stage4", found, e.name, "A6", group="all", metric="log_loss")
        if e.name in ABLATED_COMPONENT:
            against_full[ABLATED_COMPONENT[e.name]] = c
    decision = rules.decide_stage4(against_full)
    final = {"model": "full", **hyper, **decision["choice"]}
    match = next(
        (e.key for e in step if dict(e.config) == plans.training_config(
            p.spec, hyper, "full", **decision["choice"])),
        None,
    )  # fmt: skip
    p.decide("stage4", "stage4", decision, final_config=final, trained_as=match,
             evidence=p.evidence("stage4", against_full.values()))  # fmt: skip
    return final


def advance(
    spec: StudySpec, runs: Mapping[RunKey, SeedRun], cache: PredictionCache | None = None
) -> StudyProgress:
    """Replay the programme over the finished runs; see the module docstring."""
    p = _Program(spec, runs, cache)
    hyper = spec.base_config()
    winner = spec.stage3_from
    for stage in spec.stages:
        if stage == "stage1":
            tuned = _stage1(p, hyper)
            if tuned is None:
                return p.progress
            hyper = tuned
        elif stage == "stage2":
            chosen = _stage2(p, hyper)
            if chosen is None:
                return p.progress
            winner = chosen
        elif stage == "stage3":
            if _stage3(p, hyper, winner) is None:
                return p.progress
        elif stage == "stage4":
            final = _stage4(p, hyper)
            if final is None:
                return p.progress
            p.progress.final_config = final
    p.progress.stage = None
    p.progress.done = True
    p.progress.waiting = []
    return p.progress


__all__ = ["RunKey", "StudyProgress", "advance"]
