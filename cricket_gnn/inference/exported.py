"""`staged.score_rows` exported to ONNX and run by onnxruntime, for serving.

Scoring one pending ball is a few hundred tiny tensor ops (28 linears, 7 batched
matmuls, the attention gathers). Eager PyTorch spends ~10 µs dispatching each, so the
pending-ball score took ~2.6 ms on the 2-core box; the same graph in onnxruntime takes
~0.7 ms and agrees to ~1e-7. The graph is exported once per checkpoint and code version
(torch.export, dynamic in the number of targets, balls and edges) and cached on disk, so
a reload or a promotion back to a version reuses it.

`ExportedScorer` is a drop-in for `score_rows`; the ball encoder stays in PyTorch (a
live session encodes one ball per append). Where onnxruntime is missing or the export
fails, `scorer_for` says why in the log and the caller keeps the PyTorch scorer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from cricket_gnn.graphs.schema import CONTEXT_TYPES, IDENTITY_VOCAB
from cricket_gnn.inference import staged
from cricket_gnn.inference.staged import BallStates, EdgeList, TokenRows, score_rows
from cricket_gnn.models import CricketHeteroGNN
from cricket_gnn.models.hetero_gnn import MAX_CONTEXT_DIM, TOKEN_SLOTS

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

_IDENTITIES = list(IDENTITY_VOCAB)
_INPUTS = (
    "raw", "ids", "query_x", "innings", "condition",
    "token_src", "token_dst", "token_relation", "token_attr",
    "history_src", "history_dst", "history_relation", "history_attr",
    "keys", "values", "pool_key", "pool_value",
)  # fmt: skip
# The code whose arithmetic the exported graph freezes: a change to any of it is a new graph.
_FROZEN_SOURCES = ("inference/staged.py", "models/hetero_gnn.py", "models/layers.py")


class _Rows:
    """Stands in for staged._Growable inside the exported function: `.rows` only."""

    def __init__(self, rows: Tensor) -> None:
        self.rows = rows


class _ScoreRows(nn.Module):
    """score_rows with every input a tensor (the form torch.export and ONNX need)."""

    def __init__(self, model: CricketHeteroGNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: Tensor) -> Tensor:
        x = dict(zip(_INPUTS, inputs, strict=True))
        rows = TokenRows(
            raw=x["raw"],
            ids={name: x["ids"][:, i] for i, name in enumerate(_IDENTITIES)},
            query_x=x["query_x"],
            innings=x["innings"],
            condition=x["condition"],
        )
        token = EdgeList(x["token_src"], x["token_dst"], x["token_relation"], x["token_attr"])
        history = EdgeList(
            x["history_src"], x["history_dst"], x["history_relation"], x["history_attr"]
        )
        balls = BallStates(
            keys=[_Rows(k) for k in x["keys"].unbind(0)],  # type: ignore[misc]
            values=[_Rows(v) for v in x["values"].unbind(0)],  # type: ignore[misc]
            pool_key=_Rows(x["pool_key"]),  # type: ignore[arg-type]
            pool_value=_Rows(x["pool_value"]),  # type: ignore[arg-type]
        )
        return score_rows(self.model, rows, token, history, balls)


def _inputs(
    rows: TokenRows, token: EdgeList, history: EdgeList | None, balls: BallStates, hidden: int
) -> list[Tensor]:
    if history is None:  # no pooling: the graph ignores these, they only fill the slots
        index = torch.zeros(1, dtype=torch.int64)
        history = EdgeList(index, index, index, torch.zeros(1, 2))
    empty = torch.zeros(0, hidden)
    pool_key = balls.pool_key.rows if balls.pool_key is not None else empty
    pool_value = balls.pool_value.rows if balls.pool_value is not None else empty
    return [
        rows.raw,
        torch.stack([rows.ids[name] for name in _IDENTITIES], 1),
        rows.query_x,
        rows.innings,
        rows.condition,
        token.src, token.dst, token.relation, token.attr,
        history.src, history.dst, history.relation, history.attr,
        torch.stack([k.rows for k in balls.keys]),
        torch.stack([v.rows for v in balls.values]),
        pool_key,
        pool_value,
    ]  # fmt: skip


def _example(model: CricketHeteroGNN) -> list[Tensor]:
    """Inputs of the export trace: sizes above 1 and unlike each other, so that torch.export
    specialises none of the dynamic dimensions."""
    targets, balls, token_edges, history_edges = 2, 5, 9, 4
    hidden, slots = model.config.hidden_dim, len(TOKEN_SLOTS)
    generator = torch.Generator().manual_seed(0)
    dst = torch.tensor([0, 1, 2, 3, slots, slots + 1, slots + 2, 2 * slots - 1, 0])
    token = EdgeList(
        torch.randint(0, balls, (token_edges,), generator=generator),
        dst,
        dst % slots,
        torch.rand(token_edges, 2, generator=generator),
    )
    history = EdgeList(
        torch.tensor([0, 1, 2, 3]), torch.tensor([0, 0, 1, 1]), torch.zeros(4, dtype=torch.int64),
        torch.rand(history_edges, 2, generator=generator),
    )  # fmt: skip
    rows = TokenRows(
        raw=torch.rand(targets, len(CONTEXT_TYPES), MAX_CONTEXT_DIM, generator=generator),
        ids={name: torch.tensor([0, 1]) for name in _IDENTITIES},
        query_x=torch.rand(targets, 8, generator=generator),
        innings=torch.tensor([1, 2]),
        condition=torch.rand(targets, 10, generator=generator),
    )
    states = staged.new_ball_states(model)
    for growable in [*states.keys, *states.values]:
        growable.extend(torch.rand(balls, hidden, generator=generator))
    states.pool_key, states.pool_value = staged._Growable(hidden), staged._Growable(hidden)
    states.pool_key.extend(torch.rand(balls, hidden, generator=generator))
    states.pool_value.extend(torch.rand(balls, hidden, generator=generator))
    return _inputs(rows, token, history, states, hidden)


def export_onnx(model: CricketHeteroGNN, path: Path) -> None:
    """Write the eval-mode score_rows of `model` to `path` as an ONNX graph."""
    example = tuple(_example(model))
    targets = torch.export.Dim("targets", min=1)
    edges = torch.export.Dim("token_edges", min=1)
    history = torch.export.Dim("history_edges", min=1)
    balls = torch.export.Dim("balls", min=1)
    pooled = torch.export.Dim("pooled_balls", min=1)  # empty without pooling
    per_input: dict[str, Any] = {
        "raw": {0: targets}, "ids": {0: targets}, "query_x": {0: targets},
        "innings": {0: targets}, "condition": {0: targets},
        "token_src": {0: edges}, "token_dst": {0: edges}, "token_relation": {0: edges},
        "token_attr": {0: edges},
        "history_src": {0: history}, "history_dst": {0: history},
        "history_relation": {0: history}, "history_attr": {0: history},
        "keys": {1: balls}, "values": {1: balls}, "pool_key": {0: pooled},
        "pool_value": {0: pooled},
    }  # fmt: skip
    wrapper = _ScoreRows(model).eval()
    # The exporter logs a warning per torchvision op it cannot find and warns about its own
    # internals: noise in the API's log on every first load of a version.
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shapes = (tuple(per_input[name] for name in _INPUTS),)
            program = torch.export.export(wrapper, example, dynamic_shapes=shapes, strict=True)
            onnx_program = torch.onnx.export(
                program,
                input_names=list(_INPUTS),
                output_names=["logits"],
                optimize=True,
                verbose=False,
            )
    finally:
        registration.setLevel(level)
    assert onnx_program is not None
    onnx_program.save(str(path))


class ExportedScorer:
    """Calls like staged.score_rows; runs the exported graph in onnxruntime."""

    def __init__(self, session: onnxruntime.InferenceSession, model: CricketHeteroGNN) -> None:
        self.session = session
        self.model = model
        self._wanted = [i.name for i in session.get_inputs()]

    @classmethod
    def load(cls, path: Path, model: CricketHeteroGNN, threads: int = 1) -> ExportedScorer:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        return cls(session, model)

    def __call__(
        self,
        model: CricketHeteroGNN,
        rows: TokenRows,
        token_edges: EdgeList,
        history_edges: EdgeList | None,
        balls: BallStates,
    ) -> Tensor:
        """Logits [T, 7], as score_rows(model, ...) gives them (model: the exported one)."""
        assert model is self.model, "this graph was exported from another model"
        hidden = model.config.hidden_dim
        values = _inputs(rows, token_edges, history_edges, balls, hidden)
        feed = {
            name: np.ascontiguousarray(value.numpy())
            for name, value in zip(_INPUTS, values, strict=True)
            if name in self._wanted
        }
        (logits,) = self.session.run(["logits"], feed)
        return torch.from_numpy(logits)


def code_fingerprint() -> str:
    """Versions and source of everything the exported arithmetic depends on."""
    import onnxruntime

    digest = hashlib.sha256(f"{torch.__version__} {onnxruntime.__version__}".encode())
    package = Path(__file__).resolve().parents[1]
    for name in (*_FROZEN_SOURCES, "inference/exported.py"):
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:16]


def scorer_for(
    model: CricketHeteroGNN, checkpoint_sha256: str, cache_dir: Path, threads: int = 1
) -> ExportedScorer | None:
    """The exported scorer for a checkpoint (exported on first use, then read from
    `cache_dir`); None, with the reason logged, where it cannot be had."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        log.warning("onnxruntime is not installed: predictions use the PyTorch scorer")
        return None
    try:
        path = cache_dir / f"{checkpoint_sha256[:32]}-{code_fingerprint()}.onnx"
        if not path.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            fd, scratch = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.partial")
            os.close(fd)
            try:
                export_onnx(model, Path(scratch))
                os.replace(scratch, path)  # concurrent exporters: the last one wins, same bytes
            finally:
                Path(scratch).unlink(missing_ok=True)
        return ExportedScorer.load(path, model, threads)
    except Exception:
        log.exception("could not export the scorer to ONNX: predictions use the PyTorch scorer")
        return None
