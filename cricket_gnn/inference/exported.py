"""The staged forward exported to ONNX and run by onnxruntime, for serving.

Scoring one pending ball (`staged.score_rows`) or encoding a few balls
(`staged.encode_new_balls`) is a few hundred tiny tensor ops: linears, batched matmuls,
the attention gathers. Eager PyTorch spends ~10 µs dispatching each, so one pending
ball's score took ~2.6 ms on the 2-core box; the same graph in onnxruntime takes
~0.7 ms and agrees to ~1e-7. Both functions are exported once per checkpoint and code
version (torch.export, dynamic in the number of targets, balls and edges) and cached on
disk, so a reload, or a promotion back to a version, reads them.

`Exported.install` swaps them into a Predictor in place of the PyTorch functions, with
the same signatures. Where onnxruntime is missing or an export fails, `exported_for`
says why in the log and the caller keeps PyTorch. The API exports in a process of its
own (`export_command`) and serves with PyTorch until the graphs are there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from cricket_gnn.cache_files import prune_least_recently_used, touch
from cricket_gnn.graphs.schema import BALL_DIM, BALL_RELATIONS, CONTEXT_TYPES, IDENTITY_VOCAB
from cricket_gnn.inference import staged
from cricket_gnn.inference.graph_inputs import HISTORY
from cricket_gnn.inference.staged import (
    TOKEN_SETS,
    BallStates,
    EdgeList,
    Neighbours,
    TokenRows,
    encode_new_balls,
    extend_ball_states,
    score_rows,
)
from cricket_gnn.models import CricketHeteroGNN
from cricket_gnn.models.hetero_gnn import BALL_TO_BALL, MAX_CONTEXT_DIM

if TYPE_CHECKING:
    import onnxruntime

    from cricket_gnn.inference.predictor import Predictor

log = logging.getLogger(__name__)
# Pairs of exported graphs kept in the cache: the served version, the ones before it
# (a rollback loads at once) and those of other workers sharing the folder.
EXPORTS_KEPT = 8

_IDENTITIES = list(IDENTITY_VOCAB)
_EDGES = ("src", "dst", "relation", "attr")
_BLOCK = ("ball", "valid", "attr")
_BLOCKS = ("token", "history")
_SCORE_INPUTS = (
    "raw", "ids", "query_x", "innings", "condition",
    *(f"{block}_{name}" for block in _BLOCKS for name in _BLOCK),
    "keys", "values", "pool_key", "pool_value",
)  # fmt: skip
_ENCODE_INPUTS = ("x", "ids", "condition", *_EDGES, "prior_keys", "prior_values")
_ENCODE_OUTPUTS = ("keys", "values", "pool_key", "pool_value")
# The code whose arithmetic the exported graphs freeze: a change to any of it is a new graph.
_FROZEN_SOURCES = (
    "inference/staged.py",
    "inference/exported.py",
    "models/hetero_gnn.py",
    "models/layers.py",
)


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
        x = dict(zip(_SCORE_INPUTS, inputs, strict=True))
        rows = TokenRows(
            raw=x["raw"],
            ids={name: x["ids"][:, i] for i, name in enumerate(_IDENTITIES)},
            query_x=x["query_x"],
            innings=x["innings"],
            condition=x["condition"],
        )
        token, history = _blocks_of(x)
        balls = BallStates(
            keys=[_Rows(k) for k in x["keys"].unbind(0)],  # type: ignore[misc]
            values=[_Rows(v) for v in x["values"].unbind(0)],  # type: ignore[misc]
            pool_key=_Rows(x["pool_key"]),  # type: ignore[arg-type]
            pool_value=_Rows(x["pool_value"]),  # type: ignore[arg-type]
        )
        return score_rows(self.model, rows, token, history, balls)


class _EncodeNewBalls(nn.Module):
    """encode_new_balls with stacked per-layer tensors in and out."""

    def __init__(self, model: CricketHeteroGNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        x = dict(zip(_ENCODE_INPUTS, inputs, strict=True))
        condition = x["condition"] if self.model.flags["film"] else None
        keys, values, pool_key, pool_value = encode_new_balls(
            self.model,
            x["x"],
            x["ids"],
            condition,
            EdgeList(*(x[name] for name in _EDGES)),
            x["prior_keys"].unbind(0),
            x["prior_values"].unbind(0),
        )
        stacked = (torch.stack(keys), torch.stack(values))
        if pool_key is None or pool_value is None:
            return stacked
        return (*stacked, pool_key, pool_value)


def _blocks_of(x: dict[str, Tensor]) -> tuple[Neighbours, Neighbours]:
    token, history = (Neighbours(*(x[f"{block}_{name}"] for name in _BLOCK)) for block in _BLOCKS)
    return token, history


def _score_inputs(
    rows: TokenRows,
    token: Neighbours,
    history: Neighbours | None,
    balls: BallStates,
    hidden: int,
) -> list[Tensor]:
    if history is None:  # no pooling: the graph ignores these, they only fill the slots
        shape = (rows.query_x.shape[0], BALL_RELATIONS[HISTORY][1])
        history = Neighbours(
            torch.zeros(shape, dtype=torch.int64),
            torch.zeros(shape, dtype=torch.bool),
            torch.zeros(*shape, 2),
        )
    empty = torch.zeros(0, hidden)
    pool_key = balls.pool_key.rows if balls.pool_key is not None else empty
    pool_value = balls.pool_value.rows if balls.pool_value is not None else empty
    return [
        rows.raw,
        torch.stack([rows.ids[name] for name in _IDENTITIES], 1),
        rows.query_x,
        rows.innings,
        rows.condition,
        *(tensor for block in (token, history) for tensor in (block.ball, block.valid, block.attr)),
        torch.stack([k.rows for k in balls.keys]),
        torch.stack([v.rows for v in balls.values]),
        pool_key,
        pool_value,
    ]  # fmt: skip


def _encode_inputs(
    x: Tensor, ids: Tensor, condition: Tensor | None, edges: EdgeList, states: BallStates
) -> list[Tensor]:
    return [
        x,
        ids,
        condition if condition is not None else torch.zeros(x.shape[0], 10),
        edges.src, edges.dst, edges.relation, edges.attr,
        torch.stack([k.rows for k in states.keys]),
        torch.stack([v.rows for v in states.values]),
    ]  # fmt: skip


# Sizes of the export traces: above 1 and unlike each other, so that torch.export
# specialises none of the dynamic dimensions.
_TARGETS, _BALLS, _NEW_BALLS, _EDGE_COUNT = 2, 5, 3, 9


def _random_states(model: CricketHeteroGNN, balls: int, generator: torch.Generator) -> BallStates:
    hidden = model.config.hidden_dim
    states = staged.new_ball_states(model)
    states.pool_key, states.pool_value = staged._Growable(hidden), staged._Growable(hidden)
    for growable in [*states.keys, *states.values, states.pool_key, states.pool_value]:
        growable.extend(torch.rand(balls, hidden, generator=generator))
    return states


def _block(width: int, generator: torch.Generator) -> Neighbours:
    """A random [_TARGETS, width] block whose second target has no valid entry."""
    valid = torch.rand(_TARGETS, width, generator=generator) < 0.7
    valid[1] = False
    return Neighbours(
        torch.randint(0, _BALLS, (_TARGETS, width), generator=generator),
        valid,
        torch.rand(_TARGETS, width, 2, generator=generator),
    )


def _score_example(model: CricketHeteroGNN) -> list[Tensor]:
    generator = torch.Generator().manual_seed(0)
    token = _block(sum(k for _, k in TOKEN_SETS), generator)
    history = _block(BALL_RELATIONS[HISTORY][1], generator)
    rows = TokenRows(
        raw=torch.rand(_TARGETS, len(CONTEXT_TYPES), MAX_CONTEXT_DIM, generator=generator),
        ids={name: torch.tensor([0, 1]) for name in _IDENTITIES},
        query_x=torch.rand(_TARGETS, 8, generator=generator),
        innings=torch.tensor([1, 2]),
        condition=torch.rand(_TARGETS, 10, generator=generator),
    )
    states = _random_states(model, _BALLS, generator)
    return _score_inputs(rows, token, history, states, model.config.hidden_dim)


def _encode_example(model: CricketHeteroGNN) -> list[Tensor]:
    generator = torch.Generator().manual_seed(0)
    edges = EdgeList(
        torch.randint(0, _BALLS + _NEW_BALLS, (_EDGE_COUNT,), generator=generator),
        torch.arange(_EDGE_COUNT) % _NEW_BALLS,
        torch.arange(_EDGE_COUNT) % len(BALL_TO_BALL),
        torch.rand(_EDGE_COUNT, 2, generator=generator),
    )
    x = torch.rand(_NEW_BALLS, BALL_DIM, generator=generator)
    ids = torch.ones(_NEW_BALLS, 2, dtype=torch.int64)
    condition = torch.rand(_NEW_BALLS, 10, generator=generator)
    return _encode_inputs(x, ids, condition, edges, _random_states(model, _BALLS, generator))


def _dims(names: Sequence[str]) -> tuple[dict[int, Any] | None, ...]:
    """Each input's dynamic dimensions, by the naming of the inputs above."""
    dim = torch.export.Dim
    targets, balls, new_balls = dim("targets", min=1), dim("balls", min=1), dim("new", min=1)
    edges, pooled = dim("edges", min=1), dim("pooled", min=1)
    known: dict[str, dict[int, Any]] = {
        **{name: {0: targets} for name in ("raw", "query_x", "innings")},
        **{f"{block}_{name}": {0: targets} for block in _BLOCKS for name in _BLOCK},
        **{name: {0: edges} for name in _EDGES},
        "keys": {1: balls}, "values": {1: balls},
        "pool_key": {0: pooled}, "pool_value": {0: pooled},  # empty without pooling
        "prior_keys": {1: balls}, "prior_values": {1: balls},
    }  # fmt: skip
    first = new_balls if "x" in names else targets  # ids and condition: per target or ball
    known |= {"x": {0: new_balls}, "ids": {0: first}, "condition": {0: first}}
    return tuple(known[name] for name in names)


def _export(
    module: nn.Module,
    example: list[Tensor],
    input_names: Sequence[str],
    output_names: Sequence[str],
    path: Path,
) -> None:
    # The exporter logs a warning per torchvision op it cannot find and warns about its
    # own internals: noise in the API's log on every first load of a version.
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(
                module.eval(), tuple(example), dynamic_shapes=(_dims(input_names),), strict=True
            )
            onnx_program = torch.onnx.export(
                program,
                input_names=list(input_names),
                output_names=list(output_names),
                optimize=True,
                verbose=False,
            )
    finally:
        registration.setLevel(level)
    assert onnx_program is not None
    onnx_program.save(str(path))


def export_onnx(model: CricketHeteroGNN, score_path: Path, encode_path: Path) -> None:
    """Write the eval-mode score_rows and encode_new_balls of `model` as ONNX graphs."""
    _export(_ScoreRows(model), _score_example(model), _SCORE_INPUTS, ["logits"], score_path)
    outputs = _ENCODE_OUTPUTS if model.flags["pooling"] else _ENCODE_OUTPUTS[:2]
    _export(_EncodeNewBalls(model), _encode_example(model), _ENCODE_INPUTS, outputs, encode_path)


class _Graph:
    """One ONNX graph in an onnxruntime session, fed by input name."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        self.session: onnxruntime.InferenceSession = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        # An input the graph does not read (e.g. history edges without pooling) is dropped.
        self._wanted = {i.name for i in self.session.get_inputs()}
        self._outputs = [o.name for o in self.session.get_outputs()]

    def run(self, names: Sequence[str], values: Sequence[Tensor]) -> list[Tensor]:
        feed = {
            name: np.ascontiguousarray(value.numpy())
            for name, value in zip(names, values, strict=True)
            if name in self._wanted
        }
        return [torch.from_numpy(out) for out in self.session.run(self._outputs, feed)]


class _Stage:
    """One exported stage of one model's forward."""

    runtime = "onnxruntime"

    def __init__(self, graph: _Graph, model: CricketHeteroGNN) -> None:
        self.graph = graph
        self.model = model


class ExportedScorer(_Stage):
    """Calls like staged.score_rows, for the model it was exported from."""

    def __call__(
        self,
        model: CricketHeteroGNN,
        rows: TokenRows,
        token_neighbours: Neighbours,
        history: Neighbours | None,
        balls: BallStates,
    ) -> Tensor:
        """Logits [T, 7], as score_rows(model, ...) gives them."""
        assert model is self.model, "this graph was exported from another model"
        values = _score_inputs(rows, token_neighbours, history, balls, model.config.hidden_dim)
        return self.graph.run(_SCORE_INPUTS, values)[0]


class ExportedEncoder(_Stage):
    """Calls like staged.encode_balls, for the model it was exported from."""

    def __call__(
        self,
        model: CricketHeteroGNN,
        x: Tensor,
        ids: Tensor,
        condition: Tensor | None,
        edges: EdgeList,
        states: BallStates | None = None,
    ) -> BallStates:
        assert model is self.model, "this graph was exported from another model"
        states = states if states is not None else staged.new_ball_states(model)
        outputs = self.graph.run(_ENCODE_INPUTS, _encode_inputs(x, ids, condition, edges, states))
        keys, values = outputs[0].unbind(0), outputs[1].unbind(0)
        pool_key, pool_value = (outputs[2], outputs[3]) if len(outputs) == 4 else (None, None)
        extend_ball_states(states, keys, values, pool_key, pool_value)
        return states


@dataclass(frozen=True)
class Exported:
    """A model's exported scorer and ball encoder."""

    score_rows: ExportedScorer
    encode_balls: ExportedEncoder

    def install(self, predictor: Predictor) -> None:
        """Make `predictor` (whose model these were exported from) use them."""
        assert predictor.model is self.score_rows.model
        predictor.score_rows = self.score_rows
        predictor.encode_balls = self.encode_balls


def code_fingerprint() -> str:
    """Versions and source of everything the exported arithmetic depends on."""
    import onnxruntime

    digest = hashlib.sha256(f"{torch.__version__} {onnxruntime.__version__}".encode())
    package = Path(__file__).resolve().parents[1]
    for name in _FROZEN_SOURCES:
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:16]


def _paths(weights_key: str, cache_dir: Path) -> tuple[Path, Path]:
    stem = cache_dir / f"{weights_key[:32]}-{code_fingerprint()}"
    return Path(f"{stem}-score.onnx"), Path(f"{stem}-encode.onnx")


def cached(
    model: CricketHeteroGNN, weights_key: str, cache_dir: Path, threads: int = 1
) -> Exported | None:
    """The exported graphs of `model` (whose weights `weights_key` names, e.g. its
    checkpoint's sha256) if `cache_dir` has them, else None."""
    score_path, encode_path = _paths(weights_key, cache_dir)
    if not (score_path.exists() and encode_path.exists()):
        return None
    touch([score_path, encode_path])  # in use: pruning keeps it
    try:
        return Exported(
            ExportedScorer(_Graph(score_path, threads), model),
            ExportedEncoder(_Graph(encode_path, threads), model),
        )
    except Exception:  # e.g. a file damaged on disk: drop it, so that it is exported again
        log.exception("unreadable ONNX graphs in %s: removed", cache_dir)
        score_path.unlink(missing_ok=True)
        encode_path.unlink(missing_ok=True)
        return None


def export_to_cache(model: CricketHeteroGNN, weights_key: str, cache_dir: Path) -> None:
    """Export `model`'s graphs into `cache_dir` (atomically: a reader never sees half)."""
    score_path, encode_path = _paths(weights_key, cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
        score_tmp, encode_tmp = Path(scratch, "score.onnx"), Path(scratch, "encode.onnx")
        export_onnx(model, score_tmp, encode_tmp)
        # Concurrent exporters write the same bytes: whichever lands last is fine.
        os.replace(encode_tmp, encode_path)
        os.replace(score_tmp, score_path)
    prune_exports(cache_dir)


def prune_exports(cache_dir: Path, keep: int = EXPORTS_KEPT) -> list[Path]:
    """Delete all but the `keep` most recently used pairs of graphs; returns what went.

    Every promoted version and every code change (see `code_fingerprint`) exports a new
    pair, and nothing reads an old one again once its version is retired."""
    pairs: dict[str, list[Path]] = {}
    for path in cache_dir.glob("*.onnx"):
        pairs.setdefault(path.name.rsplit("-", 1)[0], []).append(path)
    return prune_least_recently_used(pairs, keep)


def exported_for(
    model: CricketHeteroGNN, weights_key: str, cache_dir: Path, threads: int = 1
) -> Exported | None:
    """The cached graphs, exported here first if need be (seconds of this process's
    time). None, with the reason logged, where they cannot be had."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        log.warning("onnxruntime is not installed: predictions use eager PyTorch")
        return None
    try:
        if cached(model, weights_key, cache_dir, threads) is None:
            export_to_cache(model, weights_key, cache_dir)
        return cached(model, weights_key, cache_dir, threads)
    except Exception:
        log.exception("could not export the model to ONNX: predictions use eager PyTorch")
        return None


def export_command(checkpoint: Path, weights_key: str, cache_dir: Path) -> list[str]:
    """The command that exports a checkpoint's graphs into `cache_dir` in a process of its
    own. A server runs it beside its requests: the export is seconds of pure-Python
    tracing that would otherwise hold the server's GIL, and it patches torch globally."""
    return [
        sys.executable, "-m", "cricket_gnn.inference.exported",
        str(checkpoint), weights_key, str(cache_dir),
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from cricket_gnn.training.checkpoint import load_checkpoint, model_from_checkpoint

    parser = argparse.ArgumentParser(description="Export a checkpoint's serving graphs to ONNX.")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("weights_key", help="names the weights (the checkpoint's sha256)")
    parser.add_argument("cache_dir", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, _ = model_from_checkpoint(load_checkpoint(args.checkpoint))
    export_to_cache(model.eval(), args.weights_key, args.cache_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
