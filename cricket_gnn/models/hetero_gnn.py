"""The six CricketHeteroGNN variants on the causal innings graph (DESIGN §4)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from cricket_gnn.data.schema import NUM_CLASSES
from cricket_gnn.graphs.schema import (
    BALL_DIM,
    BALL_RELATIONS,
    CONTEXT_FEATURE_DIMS,
    CONTEXT_GROUPS,
    CONTEXT_TYPES,
    EDGE_ATTR_DIM,
    IDENTITY_VOCAB,
    QUERY_DIM,
)
from cricket_gnn.models.config import ModelConfig
from cricket_gnn.models.layers import ContextHierarchy, FiLM, RelationalAttention, TypedLinear

SLOT = {name: i for i, name in enumerate(CONTEXT_TYPES)}
QUERY_SLOT = len(CONTEXT_TYPES)
MAX_CONTEXT_DIM = max(CONTEXT_FEATURE_DIMS.values())
BALL_TO_BALL = [et for et in BALL_RELATIONS if et[2] == "ball"]
BALL_TO_TOKEN = [et for et in BALL_RELATIONS if et[2] != "ball" and et[1] != "history"]
TOKEN_SLOTS = [QUERY_SLOT if et[2] == "query" else SLOT[et[2]] for et in BALL_TO_TOKEN]
PLAYER_SLOTS = [SLOT[n] for n in ("striker_identity", "nonstriker_identity", "bowler_identity")]
CONDITION_DIM = QUERY_DIM + 2


def _group_slices() -> list[slice]:
    slices, start = [], 0
    for members in CONTEXT_GROUPS.values():
        slices.append(slice(start, start + len(members)))
        start += len(members)
    return slices


def _edges(
    data: HeteroData,
    edge_types: list[tuple[str, str, str]],
    dst_offset: list[int] | None = None,
    dst_stride: int = 1,
    dst_map: Tensor | None = None,
) -> tuple[Tensor, ...]:
    """Concatenate several relations into (src, dst, relation id, edge_attr).

    With `dst_map` (row -> position among the selected targets, -1 if not selected),
    edges into unselected rows are dropped and destinations renumbered.
    """
    src, dst, rel, attr = [], [], [], []
    for r, edge_type in enumerate(edge_types):
        store = data[edge_type]
        index, edge_attr = store.edge_index, store.edge_attr
        if dst_map is not None:
            mapped = dst_map.index_select(0, index[1])
            keep = mapped >= 0
            index = torch.stack([index[0][keep], mapped[keep]])
            edge_attr = edge_attr[keep]
        src.append(index[0])
        target = index[1] * dst_stride + (dst_offset[r] if dst_offset else 0)
        dst.append(target)
        rel.append(torch.full_like(index[0], r))
        attr.append(edge_attr)
    return torch.cat(src), torch.cat(dst), torch.cat(rel), torch.cat(attr)


def _rows(values: Tensor, targets: Tensor | None) -> Tensor:
    return values if targets is None else values.index_select(0, targets)


class CricketHeteroGNN(nn.Module):
    """Base variant: typed encoders, `num_layers` of message passing, query readout, 7-way head.

    Shapes: forward(batch HeteroData with T query nodes) -> logits [T, 7].
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.flags = config.features()
        hidden, heads, dropout = config.hidden_dim, config.num_heads, config.dropout
        num_slots = len(CONTEXT_TYPES)
        self.player_embedding = nn.Embedding(config.num_players, hidden)
        self.venue_embedding = nn.Embedding(config.num_venues, hidden)
        self.team_embedding = nn.Embedding(config.num_teams, hidden)
        self.ball_encoder = nn.Linear(BALL_DIM, hidden)
        self.context_encoder = TypedLinear(num_slots, MAX_CONTEXT_DIM, hidden)
        self.query_encoder = nn.Linear(QUERY_DIM, hidden)
        if self.flags["hierarchical"]:
            # A player = id embedding (seen in train) + an embedding of career and team.
            self.career_encoder = nn.Sequential(
                nn.Linear(MAX_CONTEXT_DIM + hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden)
            )
        self.hierarchy = ContextHierarchy(
            hidden, _group_slices(), (SLOT["striker_identity"], SLOT["bowler_identity"]), dropout
        )
        num_layers = config.num_layers
        self.ball_kv = nn.ModuleList(nn.Linear(hidden, 2 * hidden) for _ in range(num_layers))
        # The last layer's ball states would feed nothing, so it has no ball update.
        self.ball_q = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers - 1))
        self.ball_attention = nn.ModuleList(
            RelationalAttention(hidden, heads, len(BALL_TO_BALL), EDGE_ATTR_DIM, dropout)
            for _ in range(num_layers - 1)
        )
        self.ball_out = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers - 1))
        self.ball_norm = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(num_layers - 1))
        num_token_dst = len(TOKEN_SLOTS)
        self.token_q = nn.ModuleList(
            TypedLinear(num_token_dst, hidden, hidden) for _ in range(num_layers)
        )
        self.token_attention = nn.ModuleList(
            RelationalAttention(hidden, heads, num_token_dst, EDGE_ATTR_DIM, dropout)
            for _ in range(num_layers)
        )
        self.token_out = nn.ModuleList(
            TypedLinear(num_token_dst, hidden, hidden) for _ in range(num_layers)
        )
        self.token_norm = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(num_layers))
        if self.flags["film"]:
            self.ball_film = nn.ModuleList(
                FiLM(CONDITION_DIM, hidden) for _ in range(num_layers - 1)
            )
            self.token_film = nn.ModuleList(FiLM(CONDITION_DIM, hidden) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.readout = nn.Linear((num_slots + 1) * hidden, hidden)
        extra = 0
        if self.flags["pooling"]:
            self.pool_kv = nn.Linear(hidden, 2 * hidden)
            self.pool_q = nn.Linear(hidden, hidden)
            self.pool_attention = RelationalAttention(hidden, heads, 1, EDGE_ATTR_DIM, dropout)
            extra += hidden
        if self.flags["matchup"]:
            self.matchup_mlp = nn.Sequential(
                nn.Linear(3 * hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden)
            )
            self.nonstriker_gate = nn.Linear(2 * hidden, hidden)
            extra += 2 * hidden
        self.combine = nn.Linear(hidden + extra, hidden) if extra else nn.Identity()
        self.head = self._make_head(hidden)
        if self.flags["innings_heads"]:
            self.chase_head = self._make_head(2 * hidden)  # also sees the chase state

    @staticmethod
    def _make_head(in_dim: int) -> nn.Module:
        hidden = in_dim if in_dim < 256 else in_dim // 2
        return nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, NUM_CLASSES))

    def _drop_ids(self, ids: Tensor) -> Tensor:
        """In training, replace each id by the unknown id 0 with probability id_dropout."""
        rate = self.config.id_dropout
        if not self.training or rate <= 0.0:
            return ids
        return ids.masked_fill(torch.rand(ids.shape, device=ids.device) < rate, 0)

    def _encode_tokens(self, data: HeteroData, targets: Tensor | None) -> Tensor:
        """Context tokens [T, S, H] from features, ids and (optionally) careers."""
        feats = [
            nn.functional.pad(
                _rows(data[name].x, targets), (0, MAX_CONTEXT_DIM - data[name].x.shape[1])
            )
            for name in CONTEXT_TYPES
        ]
        raw = torch.stack(feats, dim=1)  # [T, S, MAX_CONTEXT_DIM]
        if not self.flags["hierarchical"]:
            # Without the hierarchy a player is only an id: career features are hidden.
            mask = torch.ones(raw.shape[1], 1, device=raw.device)
            mask[PLAYER_SLOTS] = 0.0
            raw = raw * mask
        tokens = self.context_encoder(raw)
        tables = {
            "players": self.player_embedding,
            "venues": self.venue_embedding,
            "teams": self.team_embedding,
        }
        ids = torch.stack(
            [
                tables[vocab](self._drop_ids(_rows(data[name].ids, targets)))
                for name, vocab in IDENTITY_VOCAB.items()
            ],
            1,
        )
        id_slots = [SLOT[name] for name in IDENTITY_VOCAB]
        tokens = tokens.index_add(
            1, torch.tensor(id_slots, device=tokens.device), ids.to(tokens.dtype)
        )
        if self.flags["hierarchical"]:
            batting = self.team_embedding(self._drop_ids(_rows(data["batting_team"].ids, targets)))
            bowling = self.team_embedding(self._drop_ids(_rows(data["bowling_team"].ids, targets)))
            team = torch.stack([batting, batting, bowling], dim=1)
            player_slots = torch.tensor(PLAYER_SLOTS, device=raw.device)
            career = self.career_encoder(torch.cat([raw.index_select(1, player_slots), team], -1))
            # Under autocast the encoders' outputs may differ in dtype; index_add needs one.
            tokens = tokens.index_add(
                1, torch.tensor(PLAYER_SLOTS, device=tokens.device), career.to(tokens.dtype)
            )
        return tokens

    def condition(self, data: HeteroData) -> Tensor:
        """Per-delivery FiLM condition: phase, chase flag, progress and wickets. [T, C]."""
        return torch.cat([data["query"].x, data["score_state"].x[:, :2]], dim=-1)

    def forward(self, data: HeteroData, targets: Tensor | None = None) -> Tensor:
        """Logits [T, 7] for every query node, or [k, 7] for the rows in `targets` only.

        Context tokens of different deliveries never exchange messages, so scoring only
        the selected rows (e.g. the pending ball of a live innings) gives exactly their
        rows of the full output while skipping the work for every other row.
        """
        num_rows = data["query"].x.shape[0]
        dst_map = None
        if targets is not None:
            dst_map = torch.full((num_rows,), -1, dtype=torch.long, device=targets.device)
            dst_map[targets] = torch.arange(targets.numel(), device=targets.device)
        query_x = _rows(data["query"].x, targets)
        num_targets = query_x.shape[0]
        balls = self.ball_encoder(data["ball"].x)
        ball_ids = self._drop_ids(data["ball"].ids)
        balls = (
            balls + self.player_embedding(ball_ids[:, 0]) + self.player_embedding(ball_ids[:, 1])
        )
        tokens = self.hierarchy(self._encode_tokens(data, targets))
        tokens = torch.cat([tokens, self.query_encoder(query_x).unsqueeze(1)], dim=1)
        all_condition = self.condition(data) if self.flags["film"] else None
        ball_condition = condition = None
        if all_condition is not None:
            ball_condition = all_condition.index_select(0, data["ball"].row)
            condition = _rows(all_condition, targets)
        num_dst = len(TOKEN_SLOTS)
        bb = _edges(data, BALL_TO_BALL)
        bt = _edges(
            data,
            BALL_TO_TOKEN,
            dst_offset=list(range(num_dst)),
            dst_stride=num_dst,
            dst_map=dst_map,
        )
        token_slots = torch.tensor(TOKEN_SLOTS, device=tokens.device)
        for layer in range(self.config.num_layers):
            key, value = self.ball_kv[layer](balls).chunk(2, dim=-1)
            dst_tokens = tokens.index_select(1, token_slots)  # [T, D, H]
            q = self.token_q[layer](dst_tokens).reshape(num_targets * num_dst, -1)
            message = self.token_attention[layer](
                q, key, value, bt[0], bt[1], bt[2], bt[3], num_targets * num_dst
            ).view(num_targets, num_dst, -1)
            message = self.token_out[layer](message)
            if condition is not None:
                message = self.token_film[layer](message, condition)
            updated = self.token_norm[layer](dst_tokens + self.dropout(message))
            tokens = tokens.index_copy(1, token_slots, updated)
            if layer < self.config.num_layers - 1:
                q_ball = self.ball_q[layer](balls)
                ball_message = self.ball_out[layer](
                    self.ball_attention[layer](
                        q_ball, key, value, bb[0], bb[1], bb[2], bb[3], balls.shape[0]
                    )
                )
                if ball_condition is not None:
                    ball_message = self.ball_film[layer](ball_message, ball_condition)
                balls = self.ball_norm[layer](
                    balls + self.dropout(nn.functional.gelu(ball_message))
                )
        summary = nn.functional.gelu(self.readout(tokens.reshape(num_targets, -1)))
        summary = self.combine(self._extras(data, summary, tokens, balls, dst_map))
        innings = _rows(data["query"].innings, targets)
        return self._classify(innings, self.dropout(summary), tokens)

    def _extras(
        self,
        data: HeteroData,
        summary: Tensor,
        tokens: Tensor,
        balls: Tensor,
        dst_map: Tensor | None,
    ) -> Tensor:
        parts = [summary]
        if self.flags["pooling"]:
            src, dst, relation, edge_attr = _edges(
                data, [("ball", "history", "query")], dst_map=dst_map
            )
            key, value = self.pool_kv(balls).chunk(2, dim=-1)
            pooled = self.pool_attention(
                self.pool_q(summary),
                key,
                value,
                src,
                dst,
                relation,
                edge_attr,
                summary.shape[0],
            )
            parts.append(pooled)
        if self.flags["matchup"]:
            striker = tokens[:, SLOT["striker_identity"]] + tokens[:, SLOT["striker_state"]]
            bowler = tokens[:, SLOT["bowler_identity"]] + tokens[:, SLOT["bowler_state"]]
            parts.append(self.matchup_mlp(torch.cat([striker, bowler, striker * bowler], -1)))
            nonstriker = (
                tokens[:, SLOT["nonstriker_identity"]] + tokens[:, SLOT["nonstriker_state"]]
            )
            gate = torch.sigmoid(self.nonstriker_gate(torch.cat([summary, nonstriker], -1)))
            parts.append(gate * nonstriker)
        return torch.cat(parts, dim=-1) if len(parts) > 1 else summary

    def _classify(self, innings: Tensor, summary: Tensor, tokens: Tensor) -> Tensor:
        logits = self.head(summary)
        if not self.flags["innings_heads"]:
            return logits
        chase = self.chase_head(torch.cat([summary, tokens[:, SLOT["chase_state"]]], dim=-1))
        # Both heads run on every target so each always receives a gradient (DDP).
        return torch.where((innings == 2).unsqueeze(-1), chase, logits)


class CricketHeteroGNNWithPooling(CricketHeteroGNN):
    """Base + attention pooling over each target's past balls, joined to the query."""


class CricketHeteroGNNHybrid(CricketHeteroGNN):
    """Base + explicit striker x bowler matchup MLP + learned non-striker gate."""


class CricketHeteroGNNPhaseModulated(CricketHeteroGNN):
    """Hybrid + FiLM: per-layer gamma, beta from phase/chase/wickets, applied per node."""


class CricketHeteroGNNInningsConditional(CricketHeteroGNN):
    """Hybrid + separate heads for innings 1 and the chase (which sees the chase state)."""


class CricketHeteroGNNFull(CricketHeteroGNN):
    """Every component, switched by use_film / use_hierarchical / use_innings_heads."""


MODEL_CLASSES: dict[str, type[CricketHeteroGNN]] = {
    "base": CricketHeteroGNN,
    "pooling": CricketHeteroGNNWithPooling,
    "hybrid": CricketHeteroGNNHybrid,
    "phase_modulated": CricketHeteroGNNPhaseModulated,
    "innings_conditional": CricketHeteroGNNInningsConditional,
    "full": CricketHeteroGNNFull,
}


def build_model(config: ModelConfig) -> CricketHeteroGNN:
    """The variant named by config.model, built from the config."""
    return MODEL_CLASSES[config.model](config)
