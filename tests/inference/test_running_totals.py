"""A live innings' running totals give the pending ball exactly the offline features."""

from __future__ import annotations

import numpy as np
from archive_innings import context_of, innings_rows

from cricket_gnn.data.features import context_features, features_from_totals, row_values
from cricket_gnn.inference.predictor import History
from cricket_gnn.inference.running import InningsTotals


def test_every_prefix_of_real_innings_gets_the_vectorised_features_bit_for_bit(small_dataset):
    history = History(small_dataset.table)
    c = small_dataset.columns
    all_innings = np.unique(c["innings_id"])
    checked = {"rows": 0, "wides": 0, "noballs": 0, "dismissals": 0, "chases": 0}
    step = max(1, len(all_innings) // 24) | 1  # odd: first innings and chases alike
    for innings in all_innings[::step]:
        rows = innings_rows(small_dataset, int(innings))
        columns = {name: values[rows] for name, values in c.items()}
        columns["innings_id"] = np.zeros(len(rows), dtype=np.int32)
        expected = context_features(columns, history.batting, history.bowling)
        context = context_of(small_dataset, rows[0])

        def pending_of(
            totals: InningsTotals, t: int, columns=columns, context=context
        ) -> dict[str, np.ndarray]:
            return totals.pending(
                int(columns["batter"][t]),
                int(columns["non_striker"][t]),
                int(columns["bowler"][t]),
                context,
                int(columns["match"][t]),
                history.batting,
                history.bowling,
            )

        last = len(rows) - 1
        one_shot = InningsTotals()  # every delivery folded in at once, as a request does
        one_shot.catch_up(columns, last)
        totals = InningsTotals()
        walked = InningsTotals()  # a batch's walk: every row's values computed up front
        all_values = row_values(columns)
        for t in range(len(rows)):
            if (7 < t < 11 or 40 < t < 70) and t != last:
                continue  # so t = 11 folds 4 deliveries in one catch_up, t = 70 folds 30
            totals.catch_up(columns, t)
            walked.catch_up(columns, t, all_values)
            pending = pending_of(totals, t)
            for name, values in pending_of(walked, t).items():
                np.testing.assert_array_equal(values, pending[name], err_msg=f"{name} row {t}")
            got = features_from_totals(pending)
            for name, values in expected.items():
                assert got[name].dtype == values.dtype, name
                np.testing.assert_array_equal(got[name][0], values[t], err_msg=f"{name} row {t}")
        for name, values in pending_of(one_shot, last).items():
            np.testing.assert_array_equal(values, pending[name], err_msg=name)
        checked["rows"] += len(rows)
        checked["wides"] += int((columns["wides"] > 0).sum())
        checked["noballs"] += int((columns["noballs"] > 0).sum())
        checked["dismissals"] += int(columns["is_dismissal"].sum())
        checked["chases"] += int(context.target_runs > 0)
    # The innings checked exercise every kind of delivery the totals treat differently.
    assert checked["rows"] > 2000, checked
    assert min(checked.values()) > 0, checked
