"""The production model, held as one immutable reference that a promotion swaps.

torch and the ML library are imported here lazily, on the first load, so the API's
import path stays free of them (DESIGN §7: torch ≈ 2 s, PyG ≈ 4 s).
"""

from __future__ import annotations

import gc
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from api.db import ModelAliasName, ModelVersion, SessionFactory
from api.errors import ServiceUnavailableError
from api.models.artifacts import verified_checkpoint
from api.predict.batching import MicroBatcher

if TYPE_CHECKING:
    from cricket_gnn.data.table import DeliveryTable
    from cricket_gnn.inference.predictor import History, Predictor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """A loaded version: requests take one reference and use it to the end."""

    version: int
    predictor: Predictor


class NoProductionModel(ServiceUnavailableError):
    code = "no_production_model"


class ModelServer:
    """Loads versions from the artifact root (sha256-checked) and swaps them atomically."""

    def __init__(
        self,
        artifact_root: Path,
        history_loader: Callable[[], DeliveryTable],
        *,
        refresh_s: float = 0.0,
        torch_threads: int = 1,
        onnx_cache: Path | None = None,
        freeze_heap: bool = False,
    ) -> None:
        self.artifact_root = artifact_root
        self.freeze_heap = freeze_heap
        self._history_loader = history_loader
        self._history: History | None = None
        self._history_lock = threading.Lock()
        self._served: ServedModel | None = None
        # Another API process may promote: every refresh_s (0 = never) a request checks
        # the production alias and, if it moved, a background thread loads and swaps.
        self.refresh_s = refresh_s
        self.torch_threads = torch_threads
        # Where the models' exported graphs are kept (None: eager PyTorch only), and the
        # background exports by version (a test can join them).
        self.onnx_cache = onnx_cache
        self.exports: dict[int, threading.Thread] = {}
        self._exporting: set[subprocess.Popen[str]] = set()
        self._exporting_lock = threading.Lock()
        self._closed = False
        self._checked_at = time.monotonic()
        self._refreshing = threading.Lock()
        # Concurrent single predictions share forward passes (api.predict.batching).
        self.batcher = MicroBatcher()

    @property
    def served(self) -> ServedModel:
        """The current model; 503 with instructions when none is in production."""
        served = self._served  # one read: a concurrent swap cannot tear it
        if served is None:
            raise NoProductionModel(
                "No model is in production, so there is nothing to predict with.",
                hint='Register a run\'s checkpoint with POST /v1/models {"run_id": ...}, '
                "then POST /v1/models/{version}/promote?alias=production.",
            )
        return served

    def served_or_none(self) -> ServedModel | None:
        """The current model, or None while nothing is in production."""
        return self._served

    @property
    def version(self) -> int | None:
        served = self._served
        return None if served is None else served.version

    def history(self) -> History:
        """The career history, built once on first use and shared by every version."""
        with self._history_lock:
            if self._history is None:
                from cricket_gnn.inference.predictor import History

                self._history = History(self._history_loader())
            return self._history

    def load(self, version: ModelVersion) -> ServedModel:
        """Load and check a version without serving it yet (raises on a bad file)."""
        import torch

        from cricket_gnn.inference.predictor import Predictor

        # Requests run in parallel on the threadpool; intra-op threads on top of that (or
        # beside a training job) make OpenMP spin and stall: 1.8 s vs 8 ms measured.
        torch.set_num_threads(self.torch_threads)
        path = verified_checkpoint(self.artifact_root, version.path, version.sha256)
        predictor = Predictor.from_checkpoint(path, self.history())
        if self.onnx_cache is not None:
            self._use_exported(predictor, path, version)
        if self.freeze_heap:
            gc.freeze()  # the model (and a first load's history) live long: see Settings
        return ServedModel(version.version, predictor)

    def _use_exported(self, predictor: Predictor, path: Path, version: ModelVersion) -> None:
        """Run `predictor` on its ONNX graphs: at once if they are cached, else when a
        process of their own has exported them (tens of seconds); until then it runs on
        PyTorch, with the same answers (to ~1e-7), so nothing waits for the export."""
        cache = self.onnx_cache
        assert cache is not None
        try:
            from cricket_gnn.inference import exported

            graphs = exported.cached(predictor.model, version.sha256, cache, self.torch_threads)
        except Exception:  # e.g. onnxruntime is not installed
            log.exception("model version %d stays on PyTorch", version.version)
            return
        if graphs is not None:
            graphs.install(predictor)
            return

        def export() -> None:
            started = time.monotonic()
            command = exported.export_command(path, version.sha256, cache)
            with self._exporting_lock:
                if self._closed:
                    return
                process = subprocess.Popen(
                    command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
                )
                self._exporting.add(process)
            try:
                _, stderr = process.communicate(timeout=900)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
            finally:
                with self._exporting_lock:
                    self._exporting.discard(process)
            graphs = None
            if process.returncode == 0:
                graphs = exported.cached(predictor.model, version.sha256, cache, self.torch_threads)
            if graphs is None:
                log.error(
                    "could not export model version %d to ONNX (exit %s); it stays on PyTorch: %s",
                    version.version,
                    process.returncode,
                    stderr[-2000:],
                )
                return
            graphs.install(predictor)
            log.info(
                "model version %d runs on onnxruntime (exported in %.0f s)",
                version.version,
                time.monotonic() - started,
            )

        thread = threading.Thread(target=export, name=f"onnx-export-{version.version}", daemon=True)
        self.exports[version.version] = thread
        thread.start()

    def close(self) -> None:
        """Stop the exports still running (the API is shutting down: nobody will use them)."""
        with self._exporting_lock:
            self._closed = True
            running = list(self._exporting)
        for process in running:
            process.terminate()

    def prepare(self, version: ModelVersion) -> Callable[[], None]:
        """Load now (inside the promoting transaction); the returned swap serves it."""
        loaded = self.load(version)

        def swap() -> None:
            self._served = loaded
            log.info("serving model version %d", loaded.version)

        return swap

    def refresh_if_due(self, session_factory: SessionFactory) -> None:
        """Start a background sync with the database when refresh_s has passed."""
        now = time.monotonic()
        if self.refresh_s <= 0 or now - self._checked_at < self.refresh_s:
            return
        if not self._refreshing.acquire(blocking=False):
            return  # a sync is already running
        self._checked_at = now
        threading.Thread(target=self._sync, args=(session_factory,), daemon=True).start()

    def _sync(self, session_factory: SessionFactory) -> None:
        from api.models import repository

        try:
            with session_factory() as session:
                wanted = repository.alias_version(session, ModelAliasName.PRODUCTION)
                if wanted is None or wanted == self.version:
                    return
                version = repository.get_version(session, wanted)
            if version is not None:
                self._served = self.load(version)
                log.info("serving model version %d (promoted elsewhere)", wanted)
        except Exception:
            log.exception("could not sync the production model; still serving %s", self.version)
        finally:
            self._refreshing.release()

    def serve(self, version: ModelVersion | None) -> None:
        """Load and serve at once (start-up); None clears the model."""
        self._served = None if version is None else self.load(version)
