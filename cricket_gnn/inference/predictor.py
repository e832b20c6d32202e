"""Ball-outcome prediction for innings states, from a checkpoint and a history archive.

For the pending ball after an innings prefix, the predictor computes what the offline
pipeline computes for that row: the importer's columns, causal features (from the
innings' running totals, inference.running, which equal features.running_totals), the
train-fitted normalisation, the row's edges to earlier balls, the model, then
softmax(logits / temperature). So its answer for delivery t of an archived innings
equals the offline model's output for t in the whole-innings graph.

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
from cricket_gnn.data.features import features_from_totals, target_phase
from cricket_gnn.data.fitted import FittedState
from cricket_gnn.data.table import DeliveryTable
from cricket_gnn.graphs.builder import query_features
from cricket_gnn.inference.columns import InningsColumns, PlayerIndex
from cricket_gnn.inference.graph_inputs import KeyedRows, ball_inputs, edges_into, token_neighbours
from cricket_gnn.inference.running import InningsTotals, PendingRow, stack_rows
from cricket_gnn.inference.staged import (
    BallStates,
    EdgeList,
    Neighbours,
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
    [CricketHeteroGNN, TokenRows, Neighbours, Neighbours | None, BallStates],
    torch.Tensor,
]
EncodeBalls = Callable[
    [CricketHeteroGNN, torch.Tensor, torch.Tensor, torch.Tensor | None, EdgeList, BallStates],
    BallStates,
]

# Identity node -> the cold-start slot whose vocabulary id it takes.
_ID_SLOT = {
    "striker_identity": "striker",
    "nonstriker_identity": "non_striker",
    "bowler_identity": "bowler",
    "venue": "venue",
    "batting_team": "batting_team",
    "bowling_team": "bowling_team",
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
            return self._prepared_compact(state)
        innings = self.new_innings()
        for i, delivery in enumerate(state.deliveries):
            innings.append(delivery, f"deliveries[{i}]")
        return self._prepared(innings, state.context, state.next_ball, innings.length)

    def prepare_batch(self, states: Sequence[InningsState | CompactState]) -> list[PreparedState]:
        """`prepare` for each state, parsing an innings shared by several states once and
        walking its running totals once, shortest state first."""
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
            members = sorted(members, key=lambda i: len(states[i].deliveries))  # type: ignore[union-attr]
            lengths = [len(states[i].deliveries) for i in members]  # type: ignore[union-attr]
            for index, totals in zip(members, innings.walk_totals(lengths), strict=True):
                state = states[index]
                assert isinstance(state, InningsState)
                prepared[index] = self._prepared(
                    innings, state.context, state.next_ball, len(state.deliveries), totals
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
        totals: InningsTotals | None = None,
    ) -> PreparedState:
        """The state after the first `length` deliveries of `innings`, whose running totals
        `totals` has folded in (default: the innings' own, at its full length). States
        prepared from one innings share its ball nodes."""
        innings.check_open(length)
        if totals is None:
            assert length == innings.length
            totals = innings.running_totals()
        players = innings.players
        pending = totals.row(
            players(next_ball.striker), players(next_ball.non_striker), players(next_ball.bowler)
        )
        return PreparedState(players, context, next_ball, length, pending, innings)

    def _prepared_compact(self, state: CompactState) -> PreparedState:
        """The compact live form: no balls; score, wickets and balls from the scoreboard."""
        players = PlayerIndex(self.player_lookup, self.num_history_players)
        totals = InningsTotals()
        totals.score, totals.wickets = float(state.runs), float(state.wickets)
        totals.legal_balls = state.legal_balls
        actors = state.next_ball
        pending = totals.row(
            players(actors.striker), players(actors.non_striker), players(actors.bowler)
        )
        return PreparedState(players, state.context, actors, 0, pending)

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
                self._encode_balls(columns, rows, vocab, balls)
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
            return self._score([prepared], innings.key_columns(), [0], balls)[0], balls

    def predict_prepared(self, prepared: Sequence[PreparedState]) -> list[Prediction]:
        """One forward pass for prepared states (see prepare / prepare_batch)."""
        # Ball nodes: one copy of each innings, from its longest state's deliveries.
        longest: dict[int, int] = {}
        for i, state in enumerate(prepared):
            key = id(state.shares_balls_with())
            if key not in longest or state.num_balls > prepared[longest[key]].num_balls:
                longest[key] = i
        sources = [i for i in longest.values() if prepared[i].num_balls > 0]
        source_of = {id(prepared[i].shares_balls_with()): g for g, i in enumerate(sources)}
        group = [source_of.get(id(p.shares_balls_with()), -1) for p in prepared]
        with torch.inference_mode():
            balls = new_ball_states(self.model)
            c = None
            if sources:
                parts = []
                for i in sources:
                    state = prepared[i]
                    assert state.innings is not None
                    parts.append(
                        state.innings.played(state.context, self.match_index, state.num_balls)
                    )
                c = _concat(parts)
                lengths = [p["match"].shape[0] for p in parts]
                c["innings_id"] = np.repeat(np.arange(len(parts)), lengths).astype(np.int32)
                vocabs = [
                    self._ball_vocab(part, prepared[i].players)
                    for part, i in zip(parts, sources, strict=True)
                ]
                vocab = (
                    np.concatenate([v[0] for v in vocabs]),
                    np.concatenate([v[1] for v in vocabs]),
                )
                self._encode_balls(c, np.arange(c["match"].shape[0]), vocab, balls)
            return self._score(prepared, c, group, balls)

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
        vocab: tuple[np.ndarray, np.ndarray],
        balls: BallStates,
    ) -> None:
        """Append ball rows `rows` of derived columns `c` to `balls`, in order; ball i is
        row i of `c`, and every earlier ball row of their innings is already there."""
        sources, targets = KeyedRows.split(
            np.concatenate([c["innings_id"], c["innings_id"][rows]]),
            np.concatenate([c["batter"], c["batter"][rows]]),
            np.concatenate([c["bowler"], c["bowler"][rows]]),
            np.concatenate([c["legal_over"], c["legal_over"][rows]]),
            np.concatenate([c["delivery_index"], c["delivery_index"][rows]]),
            c["batter"].shape[0],
            np.arange(c["batter"].shape[0]),
        )
        edges = edges_into(BALL_TO_BALL, sources, targets)
        x, ids, condition = ball_inputs(c, rows, self.fitted, vocab)
        self.encode_balls(self.model, x, ids, condition, edges, balls)

    def _score(
        self,
        prepared: Sequence[PreparedState],
        sources: dict[str, np.ndarray] | None,
        group: Sequence[int],
        balls: BallStates,
    ) -> list[Prediction]:
        """Score the pending ball of each prepared state against the encoded balls.

        `sources`: the key columns (innings_id, batter, bowler, legal_over,
        delivery_index) of the encoded balls, ball i = row i; `group[j]`: the innings_id
        of state j's balls there (-1: it has none)."""
        pending = [p.pending for p in prepared]
        totals = stack_rows(
            pending, [p.context for p in prepared], self.match_index, self.batting, self.bowling
        )
        raw = features_from_totals(totals)
        context = {name: self.fitted.normalise(name, raw[name]) for name in raw}
        ids, cold = self._identity_ids(prepared)
        num_sources = 0 if sources is None else sources["batter"].shape[0]
        # A state without balls gets an innings id no ball has, so it finds no edges.
        no_balls = np.flatnonzero(np.asarray(group) < 0)
        target_group = np.asarray(group, dtype=np.int64)
        target_group[no_balls] = len(prepared) + num_sources + no_balls

        def keyed(name: str, values: np.ndarray) -> np.ndarray:
            if sources is None:
                return values
            return np.concatenate([sources[name].astype(np.int64), values])

        keyed_sources, targets = KeyedRows.split(
            keyed("innings_id", target_group),
            keyed("batter", np.array([row.striker for row in pending], dtype=np.int64)),
            keyed("bowler", np.array([row.bowler for row in pending], dtype=np.int64)),
            keyed("legal_over", totals["legal_over"].astype(np.int64)),
            keyed("delivery_index", np.array([p.num_balls for p in prepared], dtype=np.int64)),
            num_sources,
            np.arange(num_sources),
        )
        into_tokens, history = token_neighbours(keyed_sources, targets, self.model.flags["pooling"])
        rows = TokenRows.from_numpy(
            context,
            ids,
            query_features(
                totals["innings"].astype(np.int64),
                target_phase({"legal_over": totals["legal_over"]}),
                totals["legal_over"].astype(np.int64),
                totals["ball_in_over"].astype(np.int64),
            ),
            totals["innings"],
        )
        if balls.num_balls == 0:  # the graphs read at least one ball: a zero one, unread
            balls = new_ball_states(self.model)
            for growable in balls.growables():
                growable.extend(torch.zeros(1, self.model.config.hidden_dim))
        logits = self.score_rows(self.model, rows, into_tokens, history, balls)
        probs = torch.softmax(logits / self.temperature, dim=-1)
        return [
            Prediction(probabilities=tuple(p), logits=tuple(v), cold_start=cold[i])
            for i, (p, v) in enumerate(zip(probs.tolist(), logits.tolist(), strict=True))
        ]

    def _identity_ids(
        self, prepared: Sequence[PreparedState]
    ) -> tuple[dict[str, np.ndarray], list[tuple[str, ...]]]:
        """Vocabulary ids of each pending ball's players, venue and teams; cold-start slots."""
        columns: dict[str, list[int]] = {name: [] for name in COLD_START_SLOTS}
        cold: list[tuple[str, ...]] = []
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
            for name, value in slots.items():
                columns[name].append(value)
        ids = {node: np.array(columns[slot], dtype=np.int64) for node, slot in _ID_SLOT.items()}
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
    """A parsed, checked innings state: the pending ball's actors and totals, and the
    innings whose deliveries are its ball nodes (None for the compact form).

    States prepared from one innings (`innings`) share its ball nodes.
    """

    players: PlayerIndex
    context: MatchContext
    next_ball: NextBall
    num_balls: int  # deliveries before the pending ball (0 for the compact form)
    pending: PendingRow
    innings: InningsColumns | None = None

    def shares_balls_with(self) -> object:
        """States with the same value here have the same innings' ball nodes."""
        return self if self.innings is None else self.innings


def _concat(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Row-wise concatenation of columns."""
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
