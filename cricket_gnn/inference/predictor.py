"""Ball-outcome prediction for one innings state, from a checkpoint and a history archive.

The predictor runs exactly the offline pipeline on the innings prefix whose last row is
the pending ball: importer columns -> causal features -> train-fitted normalisation ->
prefix graph -> model -> softmax(logits / temperature). So its answer for delivery t of
an archived innings equals the offline model's output for t in the whole-innings graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from cricket_gnn.data.career import CareerTable, batting_career, bowling_career
from cricket_gnn.data.cricsheet import normalise_name, normalise_venue
from cricket_gnn.data.features import ball_features, context_features, target_phase
from cricket_gnn.data.fitted import FittedState
from cricket_gnn.data.table import DeliveryTable, add_derived_columns
from cricket_gnn.graphs.builder import HeteroDataBuilder, RowBlock
from cricket_gnn.inference.columns import InningsColumns, PlayerIndex, context_columns
from cricket_gnn.inference.state import (
    COLD_START_SLOTS,
    CompactState,
    InningsState,
    MatchContext,
    NextBall,
    Prediction,
)
from cricket_gnn.models import CricketHeteroGNN
from cricket_gnn.training.checkpoint import load_checkpoint, model_from_checkpoint

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
        self._venue_vocab = {name: i + 1 for i, name in enumerate(fitted.venues)}
        self._team_vocab = {name: i + 1 for i, name in enumerate(fitted.teams)}
        self._builder = HeteroDataBuilder()

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

    def new_innings(self) -> InningsColumns:
        """Empty per-innings columns bound to this predictor's player index."""
        return InningsColumns(PlayerIndex(self.player_lookup, self.num_history_players))

    def predict(self, state: InningsState | CompactState) -> Prediction:
        """The next ball's outcome distribution for one innings state."""
        return self.predict_batch([state])[0]

    def predict_batch(self, states: Sequence[InningsState | CompactState]) -> list[Prediction]:
        """Many states in one graph and one forward pass."""
        parts, player_indexes = [], []
        for state in states:
            if isinstance(state, CompactState):
                players = PlayerIndex(self.player_lookup, self.num_history_players)
                parts.append(self.compact_columns(state, players))
            else:
                innings = self.new_innings()
                for i, delivery in enumerate(state.deliveries):
                    innings.append(delivery, f"deliveries[{i}]")
                players = innings.players
                parts.append(innings.prefix(state.context, state.next_ball, self.match_index))
            player_indexes.append(players)
        return self._run(parts, player_indexes, [(s.context, s.next_ball) for s in states])

    def predict_innings(
        self, innings: InningsColumns, context: MatchContext, next_ball: NextBall
    ) -> Prediction:
        """Prediction after an innings' appended deliveries (the live session's path)."""
        columns = innings.prefix(context, next_ball, self.match_index)
        return self._run([columns], [innings.players], [(context, next_ball)])[0]

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

    def _run(
        self,
        parts: list[dict[str, np.ndarray]],
        player_indexes: list[PlayerIndex],
        actors: list[tuple[MatchContext, NextBall]],
    ) -> list[Prediction]:
        lengths = np.array([p["match"].shape[0] for p in parts])
        for part in parts:  # full-form rows start from an empty scoreboard
            for name in ("prior_runs", "prior_wickets"):
                part.setdefault(name, np.zeros(part["match"].shape[0]))
        c = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
        group = np.repeat(np.arange(len(parts)), lengths)
        c["innings_id"] = group.astype(np.int32)
        raw = context_features(c, self.batting, self.bowling)
        context = {name: self.fitted.normalise(name, values) for name, values in raw.items()}
        ids, cold = self._identity_ids(parts, player_indexes, actors, lengths)
        ball_x = ball_features(c)
        block = RowBlock(
            context=context,
            ids=ids,
            ball_x=ball_x,
            ball_ids=np.stack([ids["striker_identity"], ids["bowler_identity"]], axis=1),
            has_ball=np.ones(len(group), dtype=bool),
            group=group,
            position=c["delivery_index"].astype(np.int64),
            batter=c["batter"].astype(np.int64),
            bowler=c["bowler"].astype(np.int64),
            legal_over=c["legal_over"].astype(np.int64),
            ball_in_over=c["ball_in_over"].astype(np.int64),
            innings_no=c["innings"].astype(np.int64),
            phase=target_phase(c),
            labels=np.full(len(group), -1, dtype=np.int64),
            match=c["match"].astype(np.int64),
        )
        last = np.cumsum(lengths) - 1  # the pending row of each state
        block.has_ball[last] = False
        with torch.no_grad():
            # Only the pending rows are scored: the rest of each prefix feeds them via ball
            # nodes, but its own context tokens and heads would be wasted work.
            graph = self._builder.build(block)
            logits = self.model(graph, targets=torch.from_numpy(last.astype(np.int64)))
            probs = torch.softmax(logits / self.temperature, dim=-1)
        return [
            Prediction(
                probabilities=tuple(float(p) for p in probs[i]),
                logits=tuple(float(v) for v in logits[i]),
                cold_start=cold[i],
            )
            for i in range(len(parts))
        ]

    def _identity_ids(
        self,
        parts: list[dict[str, np.ndarray]],
        player_indexes: list[PlayerIndex],
        actors: list[tuple[MatchContext, NextBall]],
        lengths: np.ndarray,
    ) -> tuple[dict[str, np.ndarray], list[tuple[str, ...]]]:
        ids: dict[str, np.ndarray] = {}
        for node, column in _PLAYER_NODES.items():
            ids[node] = np.concatenate(
                [
                    self._player_vocab_ids(p[column], x)
                    for p, x in zip(parts, player_indexes, strict=True)
                ]
            )
        cold: list[tuple[str, ...]] = []
        venue, batting, bowling = [], [], []
        for context, next_ball in actors:
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
        ids["venue"] = np.repeat(np.array(venue, dtype=np.int64), lengths)
        ids["batting_team"] = np.repeat(np.array(batting, dtype=np.int64), lengths)
        ids["bowling_team"] = np.repeat(np.array(bowling, dtype=np.int64), lengths)
        return ids, cold

    def _player_vocab_ids(self, players: np.ndarray, index: PlayerIndex) -> np.ndarray:
        known = players < self.num_history_players
        out = self._vocab_of_player[np.where(known, players, -1)]
        # Players the history lacks may still be in the checkpoint's vocabulary.
        for row in np.flatnonzero(~known):
            out[row] = self._player_vocab.get(index.unknown().get(int(players[row]), ""), 0)
        return out
