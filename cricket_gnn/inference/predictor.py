"""Ball-outcome prediction for innings states, from a checkpoint and a history archive.

The predictor runs the offline pipeline on the innings prefix whose last row is the
pending ball: importer columns -> causal features -> train-fitted normalisation -> the
prefix's edges -> model -> softmax(logits / temperature). So its answer for delivery t
of an archived innings equals the offline model's output for t in the whole-innings graph.

The model runs in two stages (inference.staged): ball nodes are encoded once per innings
(several states of one innings share them; a live session extends them ball by ball),
then only the pending rows are scored. No HeteroData is built on this path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cricket_gnn.data.career import CareerTable, batting_career, bowling_career
from cricket_gnn.data.cricsheet import normalise_name, normalise_venue
from cricket_gnn.data.features import context_features, features_from_totals, target_phase
from cricket_gnn.data.fitted import FittedState
from cricket_gnn.data.table import DeliveryTable, add_derived_columns
from cricket_gnn.graphs.builder import query_features
from cricket_gnn.inference.columns import InningsColumns, PlayerIndex, context_columns
from cricket_gnn.inference.graph_inputs import (
    ball_inputs,
    edges_into,
    relation_keys,
    token_edges,
)
from cricket_gnn.inference.staged import (
    BallStates,
    EdgeList,
    TokenRows,
    encode_balls,
    new_ball_states,
    score_rows,
)
from cricket_gnn.inference.state import (
    COLD_START_SLOTS,
    CompactState,
    InningsState,
    InvalidInningsState,
    MatchContext,
    NextBall,
    Prediction,
)
from cricket_gnn.models import CricketHeteroGNN
from cricket_gnn.models.hetero_gnn import BALL_TO_BALL
from cricket_gnn.training.checkpoint import load_checkpoint, model_from_checkpoint

ScoreRows = Callable[
    [CricketHeteroGNN, TokenRows, EdgeList, EdgeList | None, BallStates], torch.Tensor
]
EncodeBalls = Callable[
    [CricketHeteroGNN, torch.Tensor, torch.Tensor, torch.Tensor | None, EdgeList, BallStates],
    BallStates,
]

_PLAYER_NODES = {
    "striker_identity": "batter",
    "nonstriker_identity": "non_striker",
    "bowler_identity": "bowler",
}


class History:
    """The archive a predictor knows players' careers from, with its career tables.

    Built once per archive and shared by every predictor (a model reload reuses it).
    """

    def __init__(self, table: DeliveryTable) -> None:
        self.num_matches = table.num_matches
        self.players = list(table.players)
        self.batting: CareerTable = batting_career(table.columns, table.num_matches)
        self.bowling: CareerTable = bowling_career(table.columns, table.num_matches)
        self.player_lookup = {pid: i for i, pid in enumerate(table.players)}


class Predictor:
    """An immutable model + fitted state + careers; safe to share between threads."""

    def __init__(
        self,
        *,
        model: CricketHeteroGNN,
        fitted: FittedState,
        temperature: float,
        history: DeliveryTable | History,
        careers_before_match: int | None = None,
    ) -> None:
        self.model = model.eval()
        self.fitted = fitted
        self.temperature = float(temperature)
        if isinstance(history, DeliveryTable):
            history = History(history)
        self.history = history
        # Careers use matches strictly before this index of the history (default: all).
        self.match_index = (
            history.num_matches if careers_before_match is None else careers_before_match
        )
        if not 0 <= self.match_index <= history.num_matches:
            raise ValueError(
                f"careers_before_match must be in [0, {history.num_matches}], "
                f"got {careers_before_match}"
            )
        self.batting = history.batting
        self.bowling = history.bowling
        self.num_history_players = len(history.players)
        self.player_lookup = history.player_lookup
        self._player_vocab = {name: i + 1 for i, name in enumerate(fitted.players)}
        # History player index -> vocabulary id (0 = unseen in train), looked up once.
        self._vocab_of_player = np.array(
            [self._player_vocab.get(pid, 0) for pid in history.players] + [0], dtype=np.int64
        )
        # The staged forward's two stages, or drop-ins that compute the same
        # (inference.exported: the model's graphs in onnxruntime).
        self.score_rows: ScoreRows = score_rows
        self.encode_balls: EncodeBalls = encode_balls
        self._venue_vocab = {name: i + 1 for i, name in enumerate(fitted.venues)}
        self._team_vocab = {name: i + 1 for i, name in enumerate(fitted.teams)}

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        history: DeliveryTable | History,
        *,
        careers_before_match: int | None = None,
    ) -> Predictor:
        """Load model, fitted state and temperature from a checkpoint (weights_only=True)."""
        checkpoint = load_checkpoint(path)
        model, fitted = model_from_checkpoint(checkpoint)
        return cls(
            model=model,
            fitted=fitted,
            temperature=float(checkpoint.get("temperature") or 1.0),
            history=history,
            careers_before_match=careers_before_match,
        )

    @property
    def runtime(self) -> str:
        """What runs the model: "pytorch", or "onnxruntime" once exported graphs are in."""
        return str(getattr(self.score_rows, "runtime", "pytorch"))

    def new_innings(self) -> InningsColumns:
        """Empty per-innings columns bound to this predictor's player index."""
        return InningsColumns(PlayerIndex(self.player_lookup, self.num_history_players))

    def predict(self, state: InningsState | CompactState) -> Prediction:
        """The next ball's outcome distribution for one innings state."""
        return self.predict_batch([state])[0]

    def predict_batch(self, states: Sequence[InningsState | CompactState]) -> list[Prediction]:
        """Many states in one forward pass; states that are prefixes of one innings (same
        context, one's deliveries start the other's) share that innings' ball nodes."""
        return self.predict_prepared(self.prepare_batch(states))

    def prepare(self, state: InningsState | CompactState) -> PreparedState:
        """Parse and check one state (raises InvalidInningsState); no model work."""
        if isinstance(state, CompactState):
            players = PlayerIndex(self.player_lookup, self.num_history_players)
            columns = self.compact_columns(state, players)
            return PreparedState(columns, players, state.context, state.next_ball, 0)
        innings = self.new_innings()
        for i, delivery in enumerate(state.deliveries):
            innings.append(delivery, f"deliveries[{i}]")
        return self._prepared(innings, state.context, state.next_ball, innings.length)

    def prepare_batch(self, states: Sequence[InningsState | CompactState]) -> list[PreparedState]:
        """`prepare` for each state, parsing an innings shared by several states once."""
        prepared: list[PreparedState | None] = [None] * len(states)
        for members in _prefix_groups(states):
            head = states[members[0]]
            assert isinstance(head, InningsState)
            innings = self.new_innings()
            try:
                for i, delivery in enumerate(head.deliveries):
                    innings.append(delivery, f"deliveries[{i}]")
            except InvalidInningsState:
                continue  # each state is prepared alone below and names its own error
            for index in members:
                state = states[index]
                assert isinstance(state, InningsState)
                prepared[index] = self._prepared(
                    innings, state.context, state.next_ball, len(state.deliveries), shared=True
                )
        return [
            p if p is not None else self.prepare(s) for p, s in zip(prepared, states, strict=True)
        ]

    def _prepared(
        self,
        innings: InningsColumns,
        context: MatchContext,
        next_ball: NextBall,
        length: int,
        shared: bool = False,
    ) -> PreparedState:
        """The state after the first `length` deliveries of `innings`; with `shared`, it
        shares the innings' ball nodes with the other states prepared from it."""
        columns = innings.prefix(context, next_ball, self.match_index, length)
        pending = None
        if length == innings.length:
            # The innings' running totals give the pending row's features in O(1).
            totals = innings.running_totals().pending(
                int(columns["batter"][-1]),
                int(columns["non_striker"][-1]),
                int(columns["bowler"][-1]),
                context,
                self.match_index,
                self.batting,
                self.bowling,
            )
            pending = features_from_totals(totals)
        return PreparedState(
            columns,
            innings.players,
            context,
            next_ball,
            length,
            innings if shared else None,
            pending,
        )

    def extend_balls(
        self, innings: InningsColumns, context: MatchContext, balls: BallStates | None = None
    ) -> BallStates:
        """Encode the deliveries of `innings` that `balls` lacks (a new BallStates if None):
        the model work of a live session's new balls, O(1) per ball. The states are valid
        for this predictor only."""
        n = innings.length
        with torch.inference_mode():
            balls = balls if balls is not None else new_ball_states(self.model)
            if balls.num_balls < n:
                columns = innings.played(context, self.match_index)
                vocab = self._ball_vocab(columns, innings.players)
                rows = np.arange(balls.num_balls, n)
                self._encode_balls(columns, rows, np.arange(n), vocab, balls)
        return balls

    def predict_innings(
        self,
        innings: InningsColumns,
        context: MatchContext,
        next_ball: NextBall,
        balls: BallStates | None = None,
    ) -> tuple[Prediction, BallStates]:
        """The live session's path: encode only the deliveries `balls` lacks, then score the
        pending ball alone. Returns the prediction and the ball states to keep."""
        prepared = self._prepared(innings, context, next_ball, innings.length)
        balls = self.extend_balls(innings, context, balls)
        with torch.inference_mode():
            return self._score([prepared], [0], balls)[0], balls

    def compact_columns(self, state: CompactState, players: PlayerIndex) -> dict[str, np.ndarray]:
        """One pending row whose score, wickets and balls come from the scoreboard."""
        columns = context_columns(state.context, 1, self.match_index)
        for name, value in (
            ("batter", players(state.next_ball.striker)),
            ("non_striker", players(state.next_ball.non_striker)),
            ("bowler", players(state.next_ball.bowler)),
            ("player_out", -1),
        ):
            columns[name] = np.array([value], dtype=np.int32)
        for name in ("runs_batter", "runs_extras", "runs_total"):
            columns[name] = np.zeros(1, dtype=np.int16)
        for name in ("wides", "noballs", "byes", "legbyes", "penalty", "wicket_kind", "over"):
            columns[name] = np.zeros(1, dtype=np.int8)
        columns["is_dismissal"] = np.zeros(1, dtype=bool)
        add_derived_columns(columns)
        # The scoreboard stands in for the missing history (features.context_features).
        balls = state.legal_balls
        columns["legal_ball_index"] = np.array([balls], dtype=np.int16)
        columns["legal_over"] = np.array([balls // 6], dtype=np.int8)
        columns["ball_in_over"] = np.array([balls % 6], dtype=np.int8)
        columns["prior_runs"] = np.array([state.runs], dtype=np.float64)
        columns["prior_wickets"] = np.array([state.wickets], dtype=np.float64)
        return columns

    def predict_prepared(self, prepared: Sequence[PreparedState]) -> list[Prediction]:
        """One forward pass for prepared states (see prepare / prepare_batch)."""
        # Ball nodes: one copy of each innings, from its longest state's columns.
        longest: dict[int, int] = {}
        for i, state in enumerate(prepared):
            key = id(state.shares_balls_with())
            if key not in longest or state.num_balls > prepared[longest[key]].num_balls:
                longest[key] = i
        sources = [i for i in longest.values() if prepared[i].num_balls > 0]
        start = dict(
            zip(sources, np.cumsum([0] + [prepared[i].num_balls for i in sources]), strict=False)
        )
        ball_offset = np.array(
            [start.get(longest[id(p.shares_balls_with())], 0) for p in prepared], dtype=np.int64
        )
        with torch.inference_mode():
            balls = new_ball_states(self.model)
            if sources:
                parts = [prepared[i].columns for i in sources]
                c = _concat(parts)
                lengths = [p["match"].shape[0] for p in parts]
                c["innings_id"] = np.repeat(np.arange(len(parts)), lengths).astype(np.int32)
                vocabs = [
                    self._ball_vocab(prepared[i].columns, prepared[i].players) for i in sources
                ]
                vocab = (
                    np.concatenate([v[0] for v in vocabs]),
                    np.concatenate([v[1] for v in vocabs]),
                )
                is_ball = np.ones(c["match"].shape[0], dtype=bool)
                is_ball[np.cumsum(lengths) - 1] = False  # each source's pending row
                rows = np.flatnonzero(is_ball)
                self._encode_balls(c, rows, np.cumsum(is_ball) - 1, vocab, balls)
            return self._score(prepared, ball_offset, balls)

    def _ball_vocab(
        self, columns: dict[str, np.ndarray], players: PlayerIndex
    ) -> tuple[np.ndarray, np.ndarray]:
        return (
            self._player_vocab_ids(columns["batter"], players),
            self._player_vocab_ids(columns["bowler"], players),
        )

    def _encode_balls(
        self,
        c: dict[str, np.ndarray],
        rows: np.ndarray,
        ball_of_row: np.ndarray,
        vocab: tuple[np.ndarray, np.ndarray],
        balls: BallStates,
    ) -> None:
        """Append ball rows `rows` of derived columns `c` to `balls`, in order; every earlier
        ball row of their innings is already there, at index ball_of_row[row]."""
        position = c["delivery_index"].astype(np.int64)
        keys = relation_keys(c["innings_id"], c["batter"], c["bowler"], c["legal_over"])
        edges = edges_into(BALL_TO_BALL, keys, position, rows, ball_of_row)
        x, ids, condition = ball_inputs(c, rows, self.fitted, vocab)
        self.encode_balls(self.model, x, ids, condition, edges, balls)

    def _score(
        self,
        prepared: Sequence[PreparedState],
        ball_offset: Sequence[int] | np.ndarray,
        balls: BallStates,
    ) -> list[Prediction]:
        """Score the pending row of each prepared state against the encoded balls."""
        parts = [p.columns for p in prepared]
        lengths = np.array([p["match"].shape[0] for p in parts])
        c = _concat(parts)
        c["innings_id"] = np.repeat(np.arange(len(parts)), lengths).astype(np.int32)
        targets = np.cumsum(lengths) - 1  # the pending row of each state
        pending = [p.pending for p in prepared if p.pending is not None]
        if len(pending) == len(prepared):
            raw = {name: np.concatenate([f[name] for f in pending]) for name in pending[0]}
        else:
            every_row = context_features(c, self.batting, self.bowling)
            raw = {name: values[targets] for name, values in every_row.items()}
        context = {name: self.fitted.normalise(name, raw[name]) for name in raw}
        ids, cold = self._identity_ids(prepared)
        position = c["delivery_index"].astype(np.int64)
        keys = relation_keys(c["innings_id"], c["batter"], c["bowler"], c["legal_over"])
        ball_of_row = np.repeat(np.asarray(ball_offset, dtype=np.int64), lengths) + position
        into_tokens, history = token_edges(
            keys, position, targets, ball_of_row, self.model.flags["pooling"]
        )
        rows = TokenRows.from_numpy(
            context,
            ids,
            query_features(
                c["innings"][targets].astype(np.int64),
                target_phase({"legal_over": c["legal_over"][targets]}),
                c["legal_over"][targets].astype(np.int64),
                c["ball_in_over"][targets].astype(np.int64),
            ),
            c["innings"][targets],
        )
        logits = self.score_rows(self.model, rows, into_tokens, history, balls)
        probs = torch.softmax(logits / self.temperature, dim=-1)
        return [
            Prediction(probabilities=tuple(p), logits=tuple(v), cold_start=cold[i])
            for i, (p, v) in enumerate(zip(probs.tolist(), logits.tolist(), strict=True))
        ]

    def _identity_ids(
        self, prepared: Sequence[PreparedState]
    ) -> tuple[dict[str, np.ndarray], list[tuple[str, ...]]]:
        """Vocabulary ids of each pending row's players, venue and teams; cold-start slots."""
        ids: dict[str, np.ndarray] = {}
        for node, column in _PLAYER_NODES.items():
            ids[node] = np.array(
                [self._player_vocab_ids(p.columns[column][-1:], p.players)[0] for p in prepared],
                dtype=np.int64,
            )
        cold: list[tuple[str, ...]] = []
        venue, batting, bowling = [], [], []
        for p in prepared:
            context, next_ball = p.context, p.next_ball
            slots = {
                "striker": self._player_vocab.get(next_ball.striker, 0),
                "non_striker": self._player_vocab.get(next_ball.non_striker, 0),
                "bowler": self._player_vocab.get(next_ball.bowler, 0),
                "venue": self._venue_vocab.get(normalise_venue(context.venue), 0),
                "batting_team": self._team_vocab.get(normalise_name(context.batting_team), 0),
                "bowling_team": self._team_vocab.get(normalise_name(context.bowling_team), 0),
            }
            cold.append(tuple(name for name in COLD_START_SLOTS if slots[name] == 0))
            venue.append(slots["venue"])
            batting.append(slots["batting_team"])
            bowling.append(slots["bowling_team"])
        ids["venue"] = np.array(venue, dtype=np.int64)
        ids["batting_team"] = np.array(batting, dtype=np.int64)
        ids["bowling_team"] = np.array(bowling, dtype=np.int64)
        return ids, cold

    def _player_vocab_ids(self, players: np.ndarray, index: PlayerIndex) -> np.ndarray:
        known = players < self.num_history_players
        out = self._vocab_of_player[np.where(known, players, -1)]
        # Players the history lacks may still be in the checkpoint's vocabulary.
        for row in np.flatnonzero(~known):
            out[row] = self._player_vocab.get(index.unknown().get(int(players[row]), ""), 0)
        return out


@dataclass
class PreparedState:
    """A parsed innings state: its prefix columns (pending row last, derived) and players.

    States prepared from one shared innings (`innings`) share its ball nodes.
    """

    columns: dict[str, np.ndarray]
    players: PlayerIndex
    context: MatchContext
    next_ball: NextBall
    num_balls: int  # deliveries before the pending row (0 for the compact form)
    innings: InningsColumns | None = None
    # The pending row's raw context features, when the innings' running totals gave them.
    pending: dict[str, np.ndarray] | None = None

    def shares_balls_with(self) -> object:
        """States with the same value here have the same innings' ball nodes."""
        return self if self.innings is None else self.innings


def _concat(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Row-wise concatenation; full-form rows start from an empty scoreboard."""
    for part in parts:
        for name in ("prior_runs", "prior_wickets"):
            part.setdefault(name, np.zeros(part["match"].shape[0]))
    if len(parts) == 1:
        return dict(parts[0])
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _prefix_groups(states: Sequence[InningsState | CompactState]) -> list[list[int]]:
    """Indices of full-form states grouped so each group's deliveries are prefixes of its
    first (longest) member's, with the same context."""
    order = sorted(
        (i for i, s in enumerate(states) if isinstance(s, InningsState)),
        key=lambda i: -len(states[i].deliveries),  # type: ignore[union-attr]
    )
    groups: list[list[int]] = []
    heads: dict[MatchContext, list[list[int]]] = {}
    for i in order:
        state = states[i]
        assert isinstance(state, InningsState)
        n = len(state.deliveries)
        for group in heads.get(state.context, []):
            head = states[group[0]]
            assert isinstance(head, InningsState)
            if head.deliveries[:n] == state.deliveries:
                group.append(i)
                break
        else:
            groups.append([i])
            heads.setdefault(state.context, []).append(groups[-1])
    return groups
