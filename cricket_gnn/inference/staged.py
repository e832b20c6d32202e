"""The model's eval-mode forward in two stages, so ball-node states can be cached and shared.

Ball nodes only receive messages from earlier balls (graphs.schema.BALL_RELATIONS), so a
ball's per-layer key/value never changes once it is computed: an innings prefix's ball
states are valid for every later state of that innings. The forward therefore splits:

1. `encode_balls`: the ball-to-ball layers for *new* balls, attending to the cached
   keys/values of earlier balls (`prior`) and to each other; returns prior + new.
   Its arithmetic is `encode_new_balls`, a function of tensors only (which
   inference.exported exports, as it does `score_rows`).
2. `score_rows`: the context tokens and query of some target rows (pending balls),
   attending to the cached ball keys/values; returns their logits.

`CricketHeteroGNN.forward` is the one-shot version of the same arithmetic; tests check
both agree to 1e-5 for all six variants (tests/inference/test_staged_forward.py). Only the
eval-mode path is ported: dropout and id dropout are training-only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import torch
from torch import Tensor, nn

from cricket_gnn.graphs.schema import (
    BALL_RELATIONS,
    CONTEXT_FEATURE_DIMS,
    CONTEXT_TYPES,
    IDENTITY_VOCAB,
)
from cricket_gnn.models import CricketHeteroGNN
from cricket_gnn.models.hetero_gnn import (
    BALL_TO_TOKEN,
    MAX_CONTEXT_DIM,
    PLAYER_SLOTS,
    SLOT,
    TOKEN_SLOTS,
)
from cricket_gnn.models.layers import RelationalAttention, TypedLinear

_ID_SLOTS = [SLOT[name] for name in IDENTITY_VOCAB]


@dataclass
class EdgeList:
    """Edges of several relations: src ball index, dst index, relation id, attributes [E, 2]."""

    src: Tensor
    dst: Tensor
    relation: Tensor
    attr: Tensor

    @classmethod
    def from_numpy(
        cls, src: np.ndarray, dst: np.ndarray, relation: np.ndarray, gap: np.ndarray
    ) -> EdgeList:
        """Edge attributes from the gap in deliveries, exactly as the graph builder makes them."""
        gap = gap.astype(np.float32)
        attr = np.stack([gap / 12.0, np.log1p(gap) / 3.0], 1)
        return cls(
            torch.from_numpy(src.astype(np.int64)),
            torch.from_numpy(dst.astype(np.int64)),
            torch.from_numpy(relation.astype(np.int64)),
            torch.from_numpy(attr),
        )


@dataclass
class Neighbours:
    """Each target's incoming edges of one neighbourhood, as a dense [T, k] block: up to
    k source balls (`valid` marks the real ones; padding points at ball 0), with the
    edges' attributes [T, k, 2]."""

    ball: Tensor
    valid: Tensor
    attr: Tensor

    @classmethod
    def from_numpy(cls, ball: np.ndarray, valid: np.ndarray, gap: np.ndarray) -> Neighbours:
        """Edge attributes from the gap in deliveries, exactly as the graph builder makes them."""
        gap = gap.astype(np.float32)
        attr = np.stack([gap / 12.0, np.log1p(gap) / 3.0], -1)
        return cls(
            torch.from_numpy(ball.astype(np.int64)),
            torch.from_numpy(valid),
            torch.from_numpy(attr),
        )


def _token_sets() -> list[tuple[str, int]]:
    """The neighbourhoods (key, k) that BALL_TO_TOKEN's relations read, each once: the
    innings' last 12 balls feed the four momentum tokens and the query alike."""
    return list(dict.fromkeys(BALL_RELATIONS[edge_type] for edge_type in BALL_TO_TOKEN))


TOKEN_SETS = _token_sets()


def _token_reads() -> Tensor:
    """[len(BALL_TO_TOKEN), sum of k] bool: which columns of the concatenated TOKEN_SETS
    blocks each relation's destination token reads."""
    starts = np.cumsum([0] + [k for _, k in TOKEN_SETS])
    reads = torch.zeros(len(BALL_TO_TOKEN), int(starts[-1]), dtype=torch.bool)
    for relation, edge_type in enumerate(BALL_TO_TOKEN):
        block = TOKEN_SETS.index(BALL_RELATIONS[edge_type])
        reads[relation, int(starts[block]) : int(starts[block + 1])] = True
    return reads


_TOKEN_READS = _token_reads()


class _Growable:
    """Rows appended in amortised O(1): a buffer doubled when full, read as a view."""

    def __init__(self, width: int) -> None:
        self._buffer = torch.zeros(0, width)
        self.length = 0

    def extend(self, rows: Tensor) -> None:
        need = self.length + rows.shape[0]
        if need > self._buffer.shape[0]:
            bigger = torch.zeros(max(2 * need, 64), rows.shape[1])
            bigger[: self.length] = self._buffer[: self.length]
            self._buffer = bigger
        self._buffer[self.length : need] = rows
        self.length = need

    @property
    def rows(self) -> Tensor:
        return self._buffer[: self.length]


@dataclass
class BallStates:
    """Per-layer keys/values of the ball nodes encoded so far (and the pooling key/value)."""

    keys: list[_Growable] = field(default_factory=list)
    values: list[_Growable] = field(default_factory=list)
    pool_key: _Growable | None = None
    pool_value: _Growable | None = None

    @property
    def num_balls(self) -> int:
        return self.keys[0].length if self.keys else 0

    def growables(self) -> list[_Growable]:
        """Every per-ball buffer: each layer's keys and values, then the pooling pair."""
        pool = [self.pool_key, self.pool_value] if self.pool_key is not None else []
        return [*self.keys, *self.values, *(g for g in pool if g is not None)]


@dataclass
class TokenRows:
    """Inputs of the target rows: normalised features [T, MAX_CONTEXT_DIM] per slot, ids.

    `raw` is [T, S, MAX_CONTEXT_DIM] (each context type's features, zero-padded), `ids`
    maps each IDENTITY_VOCAB type to [T], `query_x` [T, 8], `innings` [T] and
    `condition` [T, 10] (query features + the first two score-state features).
    """

    raw: Tensor
    ids: dict[str, Tensor]
    query_x: Tensor
    innings: Tensor
    condition: Tensor

    @classmethod
    def from_numpy(
        cls,
        context: dict[str, np.ndarray],
        ids: dict[str, np.ndarray],
        query_x: np.ndarray,
        innings: np.ndarray,
    ) -> TokenRows:
        num_rows = query_x.shape[0]
        raw = np.zeros((num_rows, len(CONTEXT_TYPES), MAX_CONTEXT_DIM), dtype=np.float32)
        for slot, name in enumerate(CONTEXT_TYPES):
            raw[:, slot, : CONTEXT_FEATURE_DIMS[name]] = context[name]
        condition = np.concatenate([query_x, context["score_state"][:, :2]], axis=1)
        return cls(
            raw=torch.from_numpy(raw),
            ids={name: torch.from_numpy(ids[name].astype(np.int64)) for name in IDENTITY_VOCAB},
            query_x=torch.from_numpy(query_x),
            innings=torch.from_numpy(innings.astype(np.int64)),
            condition=torch.from_numpy(condition.astype(np.float32)),
        )


def _typed_linear(module: TypedLinear, x: Tensor) -> Tensor:
    """TypedLinear.forward as a batched matmul (the einsum's Python path costs more here).

    Shapes: x [N, S, I] -> [N, S, O].
    """
    return torch.matmul(x.transpose(0, 1), module.weight).transpose(0, 1) + module.bias


def _attention(
    module: RelationalAttention,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    edges: EdgeList,
    num_dst: int,
) -> Tensor:
    """RelationalAttention.forward with fewer ops: the per-relation value offset is added
    to each edge's value before the weighted sum (sum_e a_e (v_e + r_e) = sum_e a_e v_e +
    sum_e a_e r_e), and the softmax is done with index_add instead of PyG's scatter.

    Shapes: q [num_dst, H], k/v [num_src, H] -> [num_dst, H].
    """
    heads, head_dim = module.num_heads, module.head_dim
    src, dst = edges.src, edges.dst
    key = k.index_select(0, src).view(-1, heads, head_dim)
    query = q.index_select(0, dst).view(-1, heads, head_dim)
    score = (query * key).sum(-1) / math.sqrt(head_dim)  # [E, heads]
    score = score + module.relation_bias.weight.index_select(0, edges.relation)
    score = score + module.edge_bias(edges.attr)
    index = dst.unsqueeze(-1).expand_as(score)
    top = score.new_full((num_dst, heads), -math.inf)
    top = top.scatter_reduce(0, index, score, "amax", include_self=True)
    weight = (score - top.index_select(0, dst)).exp()
    total = score.new_zeros((num_dst, heads)).index_add_(0, dst, weight)
    alpha = weight / (total.index_select(0, dst) + 1e-16)  # as torch_geometric's softmax
    value = v.index_select(0, src).view(-1, heads, head_dim)
    value = value + module.relation_value.index_select(0, edges.relation)
    out = q.new_zeros((num_dst, heads, head_dim)).index_add_(0, dst, value * alpha.unsqueeze(-1))
    return out.view(num_dst, heads * head_dim)


def _dense_attention(
    module: RelationalAttention,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    neighbours: Neighbours,
    relations: Sequence[int],
    reads: Tensor | None = None,
) -> Tensor:
    """RelationalAttention.forward for R destinations per target over one block of k
    neighbour balls (destination r has relation relations[r] and reads the columns
    reads[r], default all), as batched matmuls over the gathered [T, k] keys and values
    instead of per-edge [E, H] products. Each destination's edges are of one relation,
    so its relation value offset is added once, weighted by its attention mass (1, or 0
    without edges).

    Shapes: q [T, R, H], k/v [num_balls >= 1, H], reads [R, k] -> [T, R, H].
    """
    heads, head_dim = module.num_heads, module.head_dim
    num_targets, width = neighbours.ball.shape
    flat = neighbours.ball.reshape(-1)
    key = k.index_select(0, flat).view(num_targets, width, heads, head_dim).permute(0, 2, 3, 1)
    value = v.index_select(0, flat).view(num_targets, width, heads, head_dim).transpose(1, 2)
    query = q.view(num_targets, -1, heads, head_dim).transpose(1, 2)  # [T, heads, R, d]
    score = torch.matmul(query, key) / math.sqrt(head_dim)  # [T, heads, R, k]
    relation = torch.tensor(list(relations))
    bias = module.relation_bias.weight.index_select(0, relation).t()  # [heads, R]
    score = (
        score + bias.unsqueeze(-1) + module.edge_bias(neighbours.attr).transpose(1, 2).unsqueeze(2)
    )
    valid = neighbours.valid.unsqueeze(1).unsqueeze(1)  # [T, 1, 1, k]
    if reads is not None:
        valid = valid & reads  # [T, 1, R, k]
    # A finite fill: a destination without edges gets uniform weights, then zeros.
    alpha = torch.softmax(score.masked_fill(~valid, -1e30), dim=-1) * valid
    out = torch.matmul(alpha, value)  # [T, heads, R, d]
    offset = module.relation_value.index_select(0, relation).transpose(0, 1)  # [heads, R, d]
    out = out + alpha.sum(-1, keepdim=True) * offset
    return out.transpose(1, 2).reshape(num_targets, -1, heads * head_dim)


def new_ball_states(model: CricketHeteroGNN) -> BallStates:
    """No balls yet (an innings' first ball, or the compact live form)."""
    hidden = model.config.hidden_dim
    states = BallStates(
        keys=[_Growable(hidden) for _ in range(model.config.num_layers)],
        values=[_Growable(hidden) for _ in range(model.config.num_layers)],
    )
    if model.flags["pooling"]:
        states.pool_key, states.pool_value = _Growable(hidden), _Growable(hidden)
    return states


def encode_balls(
    model: CricketHeteroGNN,
    x: Tensor,
    ids: Tensor,
    condition: Tensor | None,
    edges: EdgeList,
    states: BallStates | None = None,
) -> BallStates:
    """Add new ball nodes to `states` (a new BallStates if None) and return it.

    Shapes: x [B, BALL_DIM], ids [B, 2] (striker, bowler vocab ids), condition [B, 10];
    edges: src in [0, prior + B) (earlier balls first), dst in [0, B) (the new balls).
    """
    states = states if states is not None else new_ball_states(model)
    prior_keys = [k.rows for k in states.keys]
    prior_values = [v.rows for v in states.values]
    new = encode_new_balls(model, x, ids, condition, edges, prior_keys, prior_values)
    extend_ball_states(states, *new)
    return states


def extend_ball_states(
    states: BallStates,
    keys: Sequence[Tensor],
    values: Sequence[Tensor],
    pool_key: Tensor | None,
    pool_value: Tensor | None,
) -> None:
    """Append new balls' per-layer keys/values (and pooling key/value) to `states`."""
    for growable, rows in zip([*states.keys, *states.values], [*keys, *values], strict=True):
        growable.extend(rows)
    if states.pool_key is not None and states.pool_value is not None:
        assert pool_key is not None and pool_value is not None
        states.pool_key.extend(pool_key)
        states.pool_value.extend(pool_value)


def encode_new_balls(
    model: CricketHeteroGNN,
    x: Tensor,
    ids: Tensor,
    condition: Tensor | None,
    edges: EdgeList,
    prior_keys: Sequence[Tensor],
    prior_values: Sequence[Tensor],
) -> tuple[list[Tensor], list[Tensor], Tensor | None, Tensor | None]:
    """Per-layer keys and values [B, H] of B new balls (and their pooling key/value, or
    None), given each layer's keys/values of the earlier balls [P, H]."""
    assert not model.training, "the staged forward is the eval-mode forward"
    num_layers = model.config.num_layers
    num_new = x.shape[0]
    balls = model.ball_encoder(x) + model.player_embedding(ids[:, 0])
    balls = balls + model.player_embedding(ids[:, 1])
    use_film = model.flags["film"] and condition is not None
    keys, values = [], []
    for layer in range(num_layers):
        key, value = model.ball_kv[layer](balls).chunk(2, dim=-1)
        keys.append(key)
        values.append(value)
        if layer == num_layers - 1:
            break
        message = _attention(
            cast(RelationalAttention, model.ball_attention[layer]),
            model.ball_q[layer](balls),
            torch.cat([prior_keys[layer], key]),
            torch.cat([prior_values[layer], value]),
            edges,
            num_new,
        )
        message = model.ball_out[layer](message)
        if use_film:
            message = model.ball_film[layer](message, condition)
        balls = model.ball_norm[layer](balls + nn.functional.gelu(message))
    if not model.flags["pooling"]:
        return keys, values, None, None
    pool_key, pool_value = model.pool_kv(balls).chunk(2, dim=-1)
    return keys, values, pool_key, pool_value


def _encode_tokens(model: CricketHeteroGNN, rows: TokenRows) -> Tensor:
    """Context tokens [T, S, H], as CricketHeteroGNN._encode_tokens in eval mode."""
    raw = rows.raw
    if not model.flags["hierarchical"]:
        raw = raw.clone()
        raw[:, PLAYER_SLOTS] = 0.0  # without the hierarchy a player is only an id
    tokens = _typed_linear(model.context_encoder, raw)
    tables = {
        "players": model.player_embedding,
        "venues": model.venue_embedding,
        "teams": model.team_embedding,
    }
    ids = torch.stack([tables[vocab](rows.ids[name]) for name, vocab in IDENTITY_VOCAB.items()], 1)
    tokens = tokens.index_add(1, torch.tensor(_ID_SLOTS), ids)
    if model.flags["hierarchical"]:
        batting = model.team_embedding(rows.ids["batting_team"])
        bowling = model.team_embedding(rows.ids["bowling_team"])
        team = torch.stack([batting, batting, bowling], dim=1)
        player_slots = torch.tensor(PLAYER_SLOTS)
        career = model.career_encoder(torch.cat([raw.index_select(1, player_slots), team], -1))
        tokens = tokens.index_add(1, player_slots, career)
    return tokens


def score_rows(
    model: CricketHeteroGNN,
    rows: TokenRows,
    token_neighbours: Neighbours,
    history: Neighbours | None,
    balls: BallStates,
) -> Tensor:
    """Logits [T, 7] of the target rows, attending to the encoded balls (at least one:
    a target without balls reads a zero ball through no valid edge).

    token_neighbours: the TOKEN_SETS blocks side by side ([T, 36]); history (pooling
    variants): the balls each target's pooled history attends to.
    """
    assert not model.training, "the staged forward is the eval-mode forward"
    num_targets = rows.query_x.shape[0]
    tokens = model.hierarchy(_encode_tokens(model, rows))
    tokens = torch.cat([tokens, model.query_encoder(rows.query_x).unsqueeze(1)], dim=1)
    condition = rows.condition if model.flags["film"] else None
    token_slots = torch.tensor(TOKEN_SLOTS)
    for layer in range(model.config.num_layers):
        dst_tokens = tokens.index_select(1, token_slots)  # [T, D, H]
        q = _typed_linear(cast(TypedLinear, model.token_q[layer]), dst_tokens)  # [T, D, H]
        attention = cast(RelationalAttention, model.token_attention[layer])
        message = _dense_attention(
            attention,
            q,
            balls.keys[layer].rows,
            balls.values[layer].rows,
            token_neighbours,
            range(len(BALL_TO_TOKEN)),
            _TOKEN_READS,
        )
        message = _typed_linear(cast(TypedLinear, model.token_out[layer]), message)
        if condition is not None:
            message = model.token_film[layer](message, condition)
        updated = model.token_norm[layer](dst_tokens + message)
        tokens = tokens.index_copy(1, token_slots, updated)
    summary = nn.functional.gelu(model.readout(tokens.reshape(num_targets, -1)))
    parts = [summary]
    if model.flags["pooling"]:
        assert history is not None and balls.pool_key is not None
        assert balls.pool_value is not None
        pooled = _dense_attention(
            model.pool_attention,
            model.pool_q(summary).unsqueeze(1),
            balls.pool_key.rows,
            balls.pool_value.rows,
            history,
            [0],
        )
        parts.append(pooled.squeeze(1))
    if model.flags["matchup"]:
        striker = tokens[:, SLOT["striker_identity"]] + tokens[:, SLOT["striker_state"]]
        bowler = tokens[:, SLOT["bowler_identity"]] + tokens[:, SLOT["bowler_state"]]
        parts.append(model.matchup_mlp(torch.cat([striker, bowler, striker * bowler], -1)))
        nonstriker = tokens[:, SLOT["nonstriker_identity"]] + tokens[:, SLOT["nonstriker_state"]]
        gate = torch.sigmoid(model.nonstriker_gate(torch.cat([summary, nonstriker], -1)))
        parts.append(gate * nonstriker)
    summary = model.combine(torch.cat(parts, dim=-1) if len(parts) > 1 else summary)
    return model._classify(rows.innings, summary, tokens)
