"""Numpy -> tensor inputs of the staged forward, with the graph builder's edge rules.

The builder (graphs.builder) makes every edge of whole innings; online we only need the
edges *into* some rows (new balls, pending balls), so `edges_into` finds, for each
target row, the k most recent earlier rows sharing its key — the builder's rule, for
the targets alone. Targets need not be rows of the sources: the pending balls of many
states of one innings are found against that innings' balls, encoded once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cricket_gnn.data.features import ball_features, target_phase
from cricket_gnn.data.fitted import FittedState
from cricket_gnn.data.grouped import exclusive_cumsum
from cricket_gnn.graphs.builder import query_features
from cricket_gnn.graphs.schema import BALL_RELATIONS
from cricket_gnn.inference.staged import TOKEN_SETS, EdgeList, Neighbours

HISTORY = ("ball", "history", "query")


def relation_keys(
    group: np.ndarray, batter: np.ndarray, bowler: np.ndarray, legal_over: np.ndarray
) -> dict[str, np.ndarray]:
    """The neighbourhood keys of BALL_RELATIONS, as HeteroDataBuilder.build makes them."""
    group = group.astype(np.int64)
    batter, bowler = batter.astype(np.int64), bowler.astype(np.int64)
    num_players = int(max(batter.max(initial=0), bowler.max(initial=0))) + 1
    return {
        "innings": group,
        "batter": group * num_players + batter,
        "bowler": group * num_players + bowler,
        "matchup": (group * num_players + batter) * num_players + bowler,
        "over": group * 64 + legal_over.astype(np.int64),
    }


@dataclass(frozen=True)
class KeyedRows:
    """Rows of some innings for edge finding: the keys of BALL_RELATIONS and each row's
    position in its innings; `ball` is a source row's index among the encoded balls."""

    keys: dict[str, np.ndarray]
    position: np.ndarray
    ball: np.ndarray | None = None

    @classmethod
    def split(
        cls,
        group: np.ndarray,
        batter: np.ndarray,
        bowler: np.ndarray,
        legal_over: np.ndarray,
        position: np.ndarray,
        num_sources: int,
        ball: np.ndarray,
    ) -> tuple[KeyedRows, KeyedRows]:
        """Sources (the first `num_sources` rows, with their ball indices) and targets
        (the rest), keyed together so equal keys mean the same innings and players."""
        keys = relation_keys(group, batter, bowler, legal_over)
        position = position.astype(np.int64)
        head = slice(0, num_sources)
        tail = slice(num_sources, None)
        sources = cls({n: v[head] for n, v in keys.items()}, position[head], ball)
        return sources, cls({n: v[tail] for n, v in keys.items()}, position[tail])


def _recent(
    sources: KeyedRows, targets: KeyedRows, key_name: str, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each target, its k most recent sources sharing its `key_name` key and earlier
    than it (position < the target's): source rows [T, k] (most recent first) and which
    of them are real."""
    key, position = sources.keys[key_name], sources.position
    target_key, target_position = targets.keys[key_name], targets.position
    if key.shape[0] == 0:
        shape = (target_key.shape[0], k)
        return np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=bool)
    order = np.lexsort((position, key))
    span = int(max(position.max(), target_position.max(initial=0))) + 1
    ordered = key[order] * span + position[order]
    # The k sources just before each target in (key, position) order, if same key.
    at = np.searchsorted(ordered, target_key * span + target_position, side="left")
    candidate = at[:, None] - np.arange(1, k + 1)[None, :]
    rows = order[np.maximum(candidate, 0)]
    ok = (candidate >= 0) & (key[rows] == target_key[:, None])
    return rows, ok


def edges_into(
    relations: list[tuple[str, str, str]], sources: KeyedRows, targets: KeyedRows
) -> EdgeList:
    """Edges of `relations` from sources into targets (dst = target index; relation id =
    index in `relations`): the ball -> ball edges of new balls."""
    assert sources.ball is not None
    found: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    src, dst, rel, gap = [], [], [], []
    for r, edge_type in enumerate(relations):
        key_name, k = BALL_RELATIONS[edge_type]
        if (key_name, k) not in found:
            rows, ok = _recent(sources, targets, key_name, k)
            found[key_name, k] = rows[ok], np.nonzero(ok)[0]  # target-major
        rows, target = found[key_name, k]
        src.append(sources.ball[rows])
        dst.append(target)
        rel.append(np.full(rows.shape[0], r))
        gap.append(targets.position[target] - sources.position[rows])
    return EdgeList.from_numpy(
        np.concatenate(src), np.concatenate(dst), np.concatenate(rel), np.concatenate(gap)
    )


def _block(
    sources: KeyedRows, targets: KeyedRows, key_name: str, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each target's k most recent earlier balls sharing its `key_name` key: ball indices,
    which are real, and the gaps in deliveries, each [T, k]."""
    assert sources.ball is not None
    rows, ok = _recent(sources, targets, key_name, k)
    if sources.position.shape[0] == 0:  # no balls: every entry is padding
        return rows, ok, np.zeros(rows.shape, dtype=np.int64)
    ball = np.where(ok, sources.ball[rows], 0)
    gap = np.where(ok, targets.position[:, None] - sources.position[rows], 0)
    return ball, ok, gap


def token_neighbours(
    sources: KeyedRows, targets: KeyedRows, pooling: bool
) -> tuple[Neighbours, Neighbours | None]:
    """The targets' ball -> context/query neighbourhoods (staged.TOKEN_SETS, side by side
    in one block), and the pooling history's."""
    blocks = [_block(sources, targets, key, k) for key, k in TOKEN_SETS]
    token = Neighbours.from_numpy(
        *(np.concatenate(parts, 1) for parts in zip(*blocks, strict=True))
    )
    history = None
    if pooling:
        history = Neighbours.from_numpy(*_block(sources, targets, *BALL_RELATIONS[HISTORY]))
    return token, history


def ball_inputs(
    c: dict[str, np.ndarray],
    rows: np.ndarray,
    fitted: FittedState,
    vocab_ids: tuple[np.ndarray, np.ndarray],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features [B, 22], (striker, bowler) vocab ids [B, 2] and FiLM condition [B, 10] of
    the ball rows `rows` of derived columns `c` (whole innings or prefixes, grouped by
    c['innings_id'])."""
    x = ball_features({name: c[name][rows] for name in _BALL_COLUMNS})
    ids = np.stack([vocab_ids[0][rows], vocab_ids[1][rows]], axis=1)
    # The condition needs only score and wickets before the ball (features.context_features).
    group = c["innings_id"]
    score = exclusive_cumsum(c["runs_total"].astype(np.float64), group)[rows]
    wickets = exclusive_cumsum(c["is_dismissal"].astype(np.float64), group)[rows]
    score_state = np.zeros((rows.shape[0], 5), dtype=np.float32)
    score_state[:, 0] = score / 100.0
    score_state[:, 1] = wickets / 10.0
    score_state = fitted.normalise("score_state", score_state)
    query_x = query_features(
        c["innings"][rows].astype(np.int64),
        target_phase({"legal_over": c["legal_over"][rows]}),
        c["legal_over"][rows].astype(np.int64),
        c["ball_in_over"][rows].astype(np.int64),
    )
    condition = np.concatenate([query_x, score_state[:, :2]], axis=1)
    return (
        torch.from_numpy(x),
        torch.from_numpy(ids.astype(np.int64)),
        torch.from_numpy(condition.astype(np.float32)),
    )


_BALL_COLUMNS = (
    "runs_batter",
    "runs_extras",
    "wides",
    "noballs",
    "byes",
    "legbyes",
    "is_dismissal",
    "wicket_kind",
    "legal_over",
    "ball_in_over",
)
