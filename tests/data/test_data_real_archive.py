"""The real T20I archive: counts against an independent reading, and the date split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cricket_gnn.data import CLASS_NAMES, CricketDataset, build_dataset, load_archive
from cricket_gnn.data.dataset import split_dates
from cricket_gnn.data.table import day_to_iso
from tests.cricsheet_factory import simple_match, write_folder
from tests.data.independent_count import count_archive

SPLITS = ("train", "val", "test")


def test_counts_match_an_independent_reading_of_the_zip(
    real_dataset: CricketDataset, archive_path: Path
) -> None:
    table = real_dataset.table
    expected = count_archive(archive_path)
    split = table.match_split()
    target = table.columns["is_target"]
    row_split = split[table.columns["match"]]
    ours = {
        "matches": table.num_matches,
        "deliveries": len(table),
        **{f"{s} matches": int((split == i).sum()) for i, s in enumerate(SPLITS)},
        **{f"{s} targets": int((target & (row_split == i)).sum()) for i, s in enumerate(SPLITS)},
    }
    theirs = {
        "matches": expected.matches,
        "deliveries": expected.deliveries,
        **{f"{s} matches": expected.split_matches[s] for s in SPLITS},
        **{f"{s} targets": expected.split_targets[s] for s in SPLITS},
    }
    print("\n" + "\n".join(f"{k:>14}: ours {ours[k]:>8,}  zip {theirs[k]:>8,}" for k in ours))
    assert table.skipped == []
    assert ours == theirs
    # The dataset keeps exactly the target deliveries, in whole innings.
    assert len(real_dataset.labels) == sum(expected.split_targets.values())
    assert int(np.diff(real_dataset.innings_ptr).min()) >= 1


def test_class_counts_per_split_match_the_rules_applied_to_the_raw_files(
    real_dataset: CricketDataset, archive_path: Path
) -> None:
    expected = count_archive(archive_path)
    row_split = real_dataset.innings_split[real_dataset.columns["innings_id"]]
    for code, name in enumerate(SPLITS):
        ours = np.bincount(real_dataset.labels[row_split == code], minlength=len(CLASS_NAMES))
        theirs = [expected.split_classes[name][c] for c in range(len(CLASS_NAMES))]
        print(name, dict(zip(CLASS_NAMES, ours.tolist(), strict=True)))
        assert ours.tolist() == theirs


def test_every_match_lies_on_its_side_of_the_split_dates(real_dataset: CricketDataset) -> None:
    dates = split_dates(real_dataset.table)
    train_first, train_last, _ = dates["train"]
    val_first, val_last, _ = dates["val"]
    test_first, _, test_count = dates["test"]
    assert day_to_iso(train_last) < "2024-06-16" <= day_to_iso(val_first)
    assert day_to_iso(val_last) < "2024-11-26" <= day_to_iso(test_first)
    assert train_first < train_last and test_count > 0
    # Innings inherit their match's split.
    match_split = real_dataset.table.match_split()
    assert (real_dataset.innings_split == match_split[real_dataset.innings_match]).all()


def test_split_boundaries_fall_on_the_published_dates(tmp_path: Path) -> None:
    dates = ["2024-06-15", "2024-06-16", "2024-11-25", "2024-11-26"]
    files = {f"{5000 + i}.json": simple_match(date=d) for i, d in enumerate(dates)}
    # A two-day match belongs to the split of its first day.
    two_day = simple_match(date="2024-06-15")
    two_day["info"]["dates"] = ["2024-06-15", "2024-06-16"]
    files["5009.json"] = two_day
    table = load_archive(write_folder(tmp_path / "m", files), cache_dir=tmp_path / "cache")
    split_by_id = dict(zip(table.match_ids.tolist(), table.match_split().tolist(), strict=True))
    assert split_by_id == {"5000": 0, "5009": 0, "5001": 1, "5002": 1, "5003": 2}
    dataset = build_dataset(table)
    assert [dataset.split_innings(s).size for s in SPLITS] == [4, 4, 2]
