"""Service settings: URLs, paths and timings, read once from the environment.

Hyper-parameters never live here (STYLE.md rule 2); they travel with each run.
With nothing configured the service runs on a SQLite file and kombu's filesystem
broker under ``./var``; setting ``DATABASE_URL``/``BROKER_URL`` to Postgres/Redis
gives the production deployment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root: relative paths in settings resolve against it, not the CWD,
#: so the API, the worker and tests agree on one ``var/`` folder.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Celery names shared by the publisher (API) and the consumer (worker).
TRAINING_QUEUE = "training"
TRAIN_RUN_TASK = "cricket_gnn.train_run"


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything the API and the worker need to find each other and their files."""

    model_config = SettingsConfigDict(
        env_prefix="CRICKET_GNN_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="", validation_alias=_alias("CRICKET_GNN_DATABASE_URL", "DATABASE_URL")
    )
    broker_url: str = Field(
        default="filesystem://", validation_alias=_alias("CRICKET_GNN_BROKER_URL", "BROKER_URL")
    )
    var_dir: Path = Path("var")
    data: Path = Field(
        default=Path("../shared/data/t20s_male_json.zip"),
        validation_alias=_alias("CRICKET_GNN_DATA", "CRICKET_GNN_DATA_PATH"),
    )
    artifact_root: Path = Field(
        default=Path("var/artifacts"),
        validation_alias=_alias("CRICKET_GNN_ARTIFACT_ROOT", "ARTIFACT_ROOT"),
    )
    wandb_mode: Literal["offline", "disabled", "online"] = Field(
        default="offline", validation_alias=_alias("CRICKET_GNN_WANDB_MODE", "WANDB_MODE")
    )
    trainer_script: Path = Path("train.py")
    train_device: Literal["auto", "cpu", "cuda"] = "auto"

    # Liveness: a worker writes a heartbeat every heartbeat_interval_s; a run whose
    # heartbeat is older than heartbeat_timeout_s is presumed lost and re-queued.
    heartbeat_interval_s: float = Field(default=2.0, gt=0)
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=20)
    # How long torchrun gets after SIGTERM before every process of the run is killed.
    stop_grace_s: float = Field(default=10.0, ge=0)
    # The API's maintenance loop (reaper + dispatcher); off in unit tests.
    maintenance_enabled: bool = True
    maintenance_interval_s: float = Field(default=5.0, gt=0)
    # A queued run whose message was published this long ago without being claimed is
    # published again (doubling each time); duplicates are harmless, claims are atomic.
    redispatch_after_s: float = Field(default=120.0, gt=0)
    broker_polling_interval_s: float = Field(default=0.5, gt=0)
    # Each API process re-reads the production alias this often (0 = only its own
    # promotions), so a promotion made through another process is served within it.
    model_refresh_s: float = Field(default=5.0, ge=0)
    # torch intra-op threads in the API process (requests already run in parallel).
    predict_torch_threads: int = Field(default=1, ge=1, le=64)
    # "onnx": score pending balls with the model's scorer exported to onnxruntime
    # (cricket_gnn.inference.exported, ~4x faster per ball; exported once per version
    # and cached under var_dir/onnx); "torch": eager PyTorch throughout.
    predict_backend: Literal["onnx", "torch"] = "onnx"
    # Move what start-up and each model load build (modules, the history, the model:
    # ~400k objects) out of the cyclic garbage collector's sight (gc.freeze). Otherwise a
    # full collection walks them all, 100-300 ms during which every request in flight
    # waits: the p99 of 16 concurrent /v1/predict callers. Off in unit tests, whose one
    # process builds many apps.
    freeze_heap: bool = True
    # `bench/train.py --json` output the stage-4 study report takes its resource tables from
    # (relative to the repository root); "not measured" when the file is absent.
    study_resources: Path = Path("bench/results/train.json")
    # Every route but the probes and docs needs an API key (api/auth/policy.py); False
    # turns the check off for a trusted single-user setup. Tests run with it on.
    auth_enabled: bool = True
    # A verified key is trusted this long per process (0 = check every request): a key
    # revoked through another process (or the CLI) may work for up to this long.
    auth_cache_s: float = Field(default=5.0, ge=0)
    # Logs: one JSON object per line ("auto" = JSON unless stderr is a terminal).
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("var_dir", "data", "artifact_root", "trainer_script")
    @classmethod
    def _resolve_against_project_root(cls, path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under ``var_dir``."""
        return self.database_url or f"sqlite:///{self.var_dir / 'cricket_gnn.db'}"

    @property
    def broker_folder(self) -> Path:
        return self.var_dir / "broker"

    def run_dir(self, run_id: int) -> Path:
        """Where a run's checkpoints, progress events and log live (API and worker agree)."""
        return self.artifact_root / "runs" / str(run_id)

    @property
    def local_admin_key_file(self) -> Path:
        """Where the embedded default keeps the local admin key it prints at start-up."""
        return self.var_dir / "admin-key"

    def is_filesystem_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")

    def ensure_local_dirs(self) -> None:
        """Create the folders the embedded defaults write to."""
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        if not self.database_url:
            self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.is_filesystem_broker():
            for name in ("queue", "processed", "control"):
                (self.broker_folder / name).mkdir(parents=True, exist_ok=True)

    def celery_config(self) -> dict[str, Any]:
        """Celery options shared by the API's publisher and the worker."""
        options: dict[str, Any] = {"polling_interval": self.broker_polling_interval_s}
        if self.is_filesystem_broker():
            queue = str(self.broker_folder / "queue")
            # One folder for in and out: producer and consumer share a machine.
            options |= {
                "data_folder_in": queue,
                "data_folder_out": queue,
                "control_folder": str(self.broker_folder / "control"),
                "processed_folder": str(self.broker_folder / "processed"),
                "store_processed": False,
            }
        elif self.broker_url.startswith(("redis://", "rediss://")):
            # Redis sorts priorities 0 (first) … 9; an unacked message of a lost worker
            # comes back after the visibility timeout and is then a no-op (claims are
            # conditional on the run's attempt), so the default hour is kept.
            options |= {
                "priority_steps": list(range(10)),
                "queue_order_strategy": "priority",
                "visibility_timeout": 3600,
                "socket_connect_timeout": 2,
            }
        return {
            "broker_url": self.broker_url,
            "broker_transport_options": options,
            "broker_connection_retry_on_startup": True,
            "broker_connection_max_retries": None,
            "task_default_queue": TRAINING_QUEUE,
            "task_acks_late": True,
            "task_ignore_result": True,
            "worker_prefetch_multiplier": 1,
            "task_serializer": "json",
            "accept_content": ["json"],
            "worker_hijack_root_logger": False,
            "worker_send_task_events": False,
            "task_send_sent_event": False,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, validated on first use."""
    return Settings()
