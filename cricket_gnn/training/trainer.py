"""The training loop: read it top to bottom (DESIGN §5)."""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.evaluation import tune_decision_bias
from cricket_gnn.graphs import HeteroDataBuilder, InningsBatcher
from cricket_gnn.models import ModelConfig, build_model
from cricket_gnn.training import checkpoint as ckpt
from cricket_gnn.training.calibration import fit_temperature
from cricket_gnn.training.config import TrainConfig
from cricket_gnn.training.distill import teacher_probabilities
from cricket_gnn.training.distributed import DistInfo, all_reduce_min, broadcast_object
from cricket_gnn.training.evaluate import Predictions, metrics_of, predict_split
from cricket_gnn.training.loss import BallOutcomeLoss, class_weight_vector, recency_weights
from cricket_gnn.training.predictions import predictions_path, save_predictions

ProgressCallback = Callable[[dict[str, Any]], None]
PROGRESS_INTERVAL_S = 1.0


def set_seed(seed: int) -> None:
    """Seed every RNG the run uses."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


class WeightAverage:
    """An exponential moving average of a model's weights, updated after each step.

    The decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates, so the average
    is not dominated by the initial weights in a short run. Buffers are copied, not
    averaged. Every DDP rank holds the same weights, so every rank's average agrees.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, current in zip(self.model.parameters(), model.parameters(), strict=True):
            average.lerp_(current.detach(), 1.0 - decay)
        for buffer, source in zip(self.model.buffers(), model.buffers(), strict=True):
            buffer.copy_(source)

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "model_state": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self.model.load_state_dict(state["model_state"])


def lr_lambda(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to 0 over the remaining steps."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


@dataclass
class EarlyStopping:
    """Best values seen and epochs since the selection metric last improved."""

    best_macro_f1: float = -1.0
    best_loss: float = math.inf
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Trains one model on one dataset; only rank 0 writes checkpoints and reports."""

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        dataset: CricketDataset,
        info: DistInfo,
        output_dir: Path,
        on_event: ProgressCallback | None = None,
        wandb_logger: Any = None,
        cache_dir: Path | None = None,
    ) -> None:
        fitted = dataset.fitted
        self.model_config = replace(
            model_config,
            num_players=fitted.num_players,
            num_venues=fitted.num_venues,
            num_teams=fitted.num_teams,
        )
        self.config = train_config
        self.dataset = dataset
        self.info = info
        self.checkpoint_dir = output_dir / "checkpoints"
        self.on_event = on_event if info.is_main else None
        self.wandb = wandb_logger if info.is_main else None
        self.code_version = ckpt.code_version()
        # Each teacher's path, sha256 and temperature, saved with every checkpoint.
        self.teachers: list[dict[str, Any]] = []
        # Where the teachers' probabilities are kept between runs (None: not kept).
        self.cache_dir = cache_dir

    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event({"time": time.time(), **event})

    def _payload(
        self, model: torch.nn.Module, epoch: int, metrics: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return {
            "model_config": self.model_config.to_dict(),
            "train_config": self.config.to_dict(),
            "fitted": self.dataset.fitted.to_dict(),
            "model_state": _cpu_state(model),
            "epoch": epoch,
            "metrics": metrics,
            "data_version": self.dataset.data_version,
            "code_version": self.code_version,
            **({"teachers": self.teachers} if self.teachers else {}),
            **extra,
        }

    def _save(self, kind: str, payload: dict[str, Any]) -> None:
        path = ckpt.checkpoint_path(self.checkpoint_dir, kind, self.config.run_name)
        ckpt.save_checkpoint(path, {"kind": kind, **payload})
        self._emit(
            {
                "event": "checkpoint",
                "kind": kind,
                "path": str(path.resolve()),
                "epoch": payload["epoch"],
                "sha256": ckpt.sha256_of(path),
                "size_bytes": path.stat().st_size,
                "metrics": payload.get("metrics", {}),
            }
        )

    def _match_weights(self, device: torch.device) -> torch.Tensor | None:
        """Each match's loss weight under `recency_half_life` (None when it is off)."""
        if self.config.recency_half_life <= 0:
            return None
        rows = self.dataset.rows_of(self.dataset.split_innings("train"))
        matches = self.dataset.columns["match"][rows]
        table = self.dataset.table
        by_match = np.zeros(table.num_matches, dtype=np.float32)
        days = table.match_dates[matches]
        by_match[matches] = recency_weights(days, self.config.recency_half_life)
        return torch.from_numpy(by_match).to(device)

    def fit(self, resume: Path | None = None) -> dict[str, Any]:
        """Train, select, calibrate on val and score val and test. Returns the final metrics."""
        cfg, info = self.config, self.info
        set_seed(cfg.seed)
        model = build_model(self.model_config).to(info.device)
        net: torch.nn.Module = model
        if info.distributed:
            device_ids = [info.device.index] if info.device.type == "cuda" else None
            net = DistributedDataParallel(
                model, device_ids=device_ids, find_unused_parameters=False
            )
        lengths = np.diff(self.dataset.innings_ptr)
        batcher = InningsBatcher(
            self.dataset.split_innings("train"),
            lengths,
            cfg.batch_size,
            shuffle=True,
            seed=cfg.seed,
            rank=info.rank,
            world_size=info.world_size,
        )
        steps_per_epoch = all_reduce_min(len(batcher), info)
        if cfg.max_steps_per_epoch:
            steps_per_epoch = min(steps_per_epoch, cfg.max_steps_per_epoch)
        optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lr_lambda(cfg.epochs * steps_per_epoch, cfg.warmup_fraction)
        )
        loss_fn = BallOutcomeLoss(
            class_weight_vector(self.dataset.fitted.class_priors, cfg.class_weights),
            cfg.focal_gamma,
            cfg.label_smoothing,
            cfg.distill_weight,
            cfg.brier_weight,
        ).to(info.device)
        match_weight = self._match_weights(info.device)
        soft_table, soft_source = None, {}
        if cfg.teachers:
            targets = teacher_probabilities(cfg.teachers, self.dataset, info, self.cache_dir)
            soft_table, self.teachers = targets.table, targets.teachers
            soft_source = {
                "teacher_probabilities": {
                    "path": str(targets.cache_path) if targets.cache_path else None,
                    "from_cache": targets.from_cache,
                }
            }
        state = EarlyStopping()
        start_epoch = 0
        if resume is not None:
            saved = ckpt.load_checkpoint(resume)
            model.load_state_dict(saved["model_state"])
            optimiser.load_state_dict(saved["optimizer_state"])
            scheduler.load_state_dict(saved["scheduler_state"])
            torch.set_rng_state(saved["rng_state"])
            state = EarlyStopping(**saved["early_stopping"])
            start_epoch = int(saved["epoch"])
        average = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        if average is not None and resume is not None:
            average.load_state_dict(saved["weight_average"])
        # What is validated, selected, saved and scored: the average, where there is one.
        evaluated = average.model if average is not None else model
        builder = HeteroDataBuilder(self.dataset)
        use_amp = info.device.type == "cuda"
        self._emit(
            {
                "event": "start",
                "world_size": info.world_size,
                "device": str(info.device),
                "data_version": self.dataset.data_version,
                "code_version": self.code_version,
                "epochs": cfg.epochs,
                "steps_per_epoch": steps_per_epoch,
                "start_epoch": start_epoch,
                "num_parameters": sum(p.numel() for p in model.parameters()),
                **soft_source,
            }
        )
        run_start, steps_done = time.time(), 0
        best_epochs: dict[str, int] = {}
        val_by_epoch: dict[int, Predictions] = {}
        longest_epoch_s = 0.0
        stopped_early = state.bad_epochs >= cfg.patience
        for epoch in range(start_epoch, cfg.epochs):
            if stopped_early:
                break
            # The first epoch always runs: a run must leave a model to calibrate and score.
            if (
                epoch > start_epoch
                and cfg.max_time_s
                and not self._epoch_fits(run_start, longest_epoch_s)
            ):
                break
            net.train()
            batcher.set_epoch(epoch)
            batches = batcher.batches()
            # Packing differs per rank and epoch; every rank must take the same steps.
            batches = batches[: min(steps_per_epoch, all_reduce_min(len(batches), info))]
            loss_sum, seen = 0.0, 0
            epoch_start = last_report = time.time()
            for step, innings in enumerate(batches, start=1):
                graph = builder.build_innings(innings).to(info.device)
                labels = graph["query"].y
                with torch.autocast(info.device.type, dtype=torch.bfloat16, enabled=use_amp):
                    logits = net(graph)
                weight = match_weight[graph["query"].match] if match_weight is not None else None
                soft = None
                if soft_table is not None:  # query nodes are the innings' rows, in order
                    rows = torch.from_numpy(self.dataset.rows_of(innings))
                    soft = soft_table[rows].to(info.device)
                loss = loss_fn(logits.float(), labels, weight, soft)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimiser.step()
                scheduler.step()
                if average is not None:
                    average.update(model)
                loss_sum += float(loss.item()) * labels.shape[0]
                seen += labels.shape[0]
                steps_done += 1
                now = time.time()
                if now - last_report >= PROGRESS_INTERVAL_S or step == len(batches):
                    last_report = now
                    elapsed = now - run_start
                    remaining = (cfg.epochs - epoch) * steps_per_epoch - step
                    self._emit(
                        {
                            "event": "progress",
                            "epoch": epoch + 1,
                            "step": step,
                            "steps_per_epoch": steps_per_epoch,
                            "samples_per_s": seen * info.world_size / max(1e-9, now - epoch_start),
                            "eta_s": elapsed / steps_done * remaining,
                            "train_loss": loss_sum / max(seen, 1),
                        }
                    )
            val_pred = predict_split(evaluated, self.dataset, "val", info)
            val = metrics_of(val_pred)
            train_metrics = {"loss": loss_sum / max(seen, 1)}
            lr = scheduler.get_last_lr()[0]
            state.history.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": train_metrics["loss"],
                    "val_log_loss": val["log_loss"],
                    "val_macro_f1": val["macro_f1"],
                }
            )
            self._emit(
                {"event": "epoch", "epoch": epoch + 1, "lr": lr, "train": train_metrics, "val": val}
            )
            if self.wandb is not None:
                self.wandb.log_epoch(epoch + 1, train_metrics, val, lr)
            improved_f1 = val["macro_f1"] > state.best_macro_f1
            improved_loss = val["log_loss"] < state.best_loss
            state.best_macro_f1 = max(state.best_macro_f1, val["macro_f1"])
            state.best_loss = min(state.best_loss, val["log_loss"])
            improved = improved_loss if cfg.select_metric == "log_loss" else improved_f1
            state.bad_epochs = 0 if improved else state.bad_epochs + 1
            stopped_early = state.bad_epochs >= cfg.patience
            longest_epoch_s = max(longest_epoch_s, time.time() - epoch_start)
            # Keep the val logits of the epochs a checkpoint may still come from, so that
            # _finish need not run them again (a full-data val forward costs as much as ~40 steps).
            if improved_f1:
                best_epochs["best_macro_f1"] = epoch + 1
            if improved_loss:
                best_epochs["best_loss"] = epoch + 1
            val_by_epoch[epoch + 1] = val_pred
            keep = {*best_epochs.values(), epoch + 1}
            val_by_epoch = {e: p for e, p in val_by_epoch.items() if e in keep}
            if info.is_main:
                payload = self._payload(evaluated, epoch + 1, {"val": val})
                if improved_f1:
                    self._save("best_macro_f1", payload)
                if improved_loss:
                    self._save("best_loss", payload)
                self._save(
                    "last",
                    {
                        **payload,
                        # Training goes on from the weights, with their average beside them.
                        **(
                            {
                                "model_state": _cpu_state(model),
                                "weight_average": average.state_dict(),
                            }
                            if average is not None
                            else {}
                        ),
                        "optimizer_state": optimiser.state_dict(),
                        "scheduler_state": scheduler.state_dict(),
                        "rng_state": torch.get_rng_state(),
                        "early_stopping": vars(state),
                    },
                )
        if info.is_main:
            self._save("final", self._payload(evaluated, len(state.history), {"val": {}}))
        result = self._finish(evaluated, state, val_by_epoch)
        del net, optimiser, scheduler  # before destroy_process_group (DESIGN §7)
        return result

    def _epoch_fits(self, run_start: float, longest_epoch_s: float) -> bool:
        """Whether another epoch as long as the longest so far ends within max_time_s.

        Every rank must agree, or one would wait for the others' collectives forever.
        """
        fits = time.time() - run_start + longest_epoch_s <= self.config.max_time_s
        return bool(all_reduce_min(int(fits), self.info))

    def _score(
        self, model: torch.nn.Module, val_pred: Predictions | None
    ) -> tuple[Predictions, Predictions, float, np.ndarray]:
        """Val and test logits of `model`, its temperature and decision bias fitted on val."""
        if val_pred is None:  # e.g. an epoch trained before a --resume
            val_pred = predict_split(model, self.dataset, "val", self.info)
        test_pred = predict_split(model, self.dataset, "test", self.info)
        temperature, bias = 1.0, np.zeros(7)
        if val_pred.labels.numel():
            temperature = fit_temperature(val_pred.logits, val_pred.labels)
            probs = torch.softmax(val_pred.logits.double() / temperature, -1).numpy()
            bias = tune_decision_bias(val_pred.labels.numpy(), probs)
        return val_pred, test_pred, temperature, bias

    def _finish(
        self,
        model: torch.nn.Module,
        state: EarlyStopping,
        val_by_epoch: dict[int, Predictions],
    ) -> dict[str, Any]:
        """Calibrate each saved model on val, score val and test, rewrite its checkpoint.

        `val_by_epoch` holds val logits already computed with the weights saved at the end
        of those epochs. Checkpoint kinds saved from the same epoch hold the same weights,
        so each distinct epoch costs at most one forward over val and one over test.
        """
        results: dict[str, Any] = {}
        scored: dict[int, tuple[Predictions, Predictions, float, np.ndarray]] = {}
        selected = "best_loss" if self.config.select_metric == "log_loss" else "best_macro_f1"
        predictions_file = predictions_path(self.checkpoint_dir, self.config.run_name)
        for kind in ("best_macro_f1", "best_loss", "final"):
            path = ckpt.checkpoint_path(self.checkpoint_dir, kind, self.config.run_name)
            saved = broadcast_object(
                ckpt.load_checkpoint(path) if self.info.is_main else None, self.info
            )
            assert isinstance(saved, dict)
            epoch = int(saved["epoch"])
            if epoch not in scored:
                model.load_state_dict(saved["model_state"])
                scored[epoch] = self._score(model, val_by_epoch.get(epoch))
            val_pred, test_pred, temperature, bias = scored[epoch]
            val = metrics_of(val_pred, temperature, bias)
            test = metrics_of(test_pred, temperature, bias)
            if kind == selected and self.info.is_main:  # for paired tests between runs
                save_predictions(predictions_file, val_pred, test_pred, temperature)
            results[kind] = {
                "epoch": saved["epoch"],
                "temperature": temperature,
                "decision_bias": [float(b) for b in bias],
                "val": val,
                "test": test,
            }
            if self.info.is_main:
                saved.update(
                    temperature=temperature,
                    decision_bias=[float(b) for b in bias],
                    metrics={"val": val, "test": test},
                )
                self._save(
                    kind,
                    {
                        k: v
                        for k, v in saved.items()
                        if k not in ("format", "schema_version", "kind")
                    },
                )
        return {
            "run_name": self.config.run_name,
            "model": self.model_config.model,
            "selected": selected,
            "val": results[selected]["val"],
            "test": results[selected]["test"],
            "checkpoints": results,
            "predictions_path": str(predictions_file.resolve()),
            "history": state.history,
            "data_version": self.dataset.data_version,
            "code_version": self.code_version,
            "model_config": self.model_config.to_dict(),
            "train_config": self.config.to_dict(),
        }
