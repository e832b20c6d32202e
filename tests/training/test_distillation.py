"""Distillation: a run pulls towards its teachers' averaged, calibrated probabilities."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cricket_gnn.graphs import HeteroDataBuilder
from cricket_gnn.training.checkpoint import (
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
    sha256_of,
)
from cricket_gnn.training.config import TrainConfig
from cricket_gnn.training.distill import (
    TEACHER_CACHE_KEEP,
    prune_teacher_cache,
    teacher_probabilities,
)
from cricket_gnn.training.distributed import DistInfo
from cricket_gnn.training.loss import BallOutcomeLoss
from cricket_gnn.training.trainer import Trainer
from tests.training.tiny_run import (
    TINY_MODEL,
    one_epoch_runs,
    straight_and_resumed,
    tiny_train_config,
    weights_differ,
)


@pytest.fixture(scope="module")
def teachers(small_dataset, tmp_path_factory):
    """Two tiny teachers of different seeds, trained and calibrated on the small dataset."""
    out = tmp_path_factory.mktemp("teachers")
    paths = []
    for seed in (1, 2):
        config = tiny_train_config(run_name=f"teacher{seed}", epochs=1, seed=seed)
        Trainer(TINY_MODEL, config, small_dataset, DistInfo(), out).fit()
        paths.append(str(out / "checkpoints" / f"best_loss_teacher{seed}.pt"))
    return paths


def test_the_loss_mixes_the_label_loss_and_the_cross_entropy_to_the_teacher() -> None:
    logits = torch.randn(6, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 4, 6, 2, 3])
    soft = torch.softmax(torch.randn(6, 7, generator=torch.Generator().manual_seed(1)), -1)
    hard = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    to_teacher = -(soft * torch.log_softmax(logits, -1)).sum(-1)
    mixed = BallOutcomeLoss(None, 0.0, 0.0, distill_weight=0.25)(logits, labels, None, soft)
    torch.testing.assert_close(mixed, (0.75 * hard + 0.25 * to_teacher).mean())
    # A teacher that is certain of the label is the label.
    one_hot = torch.nn.functional.one_hot(labels, 7).float()
    only_teacher = BallOutcomeLoss(None, 0.0, 0.0, distill_weight=1.0)(
        logits, labels, None, one_hot
    )
    torch.testing.assert_close(only_teacher, hard.mean())


def test_the_soft_targets_are_the_teachers_mean_calibrated_probabilities(
    small_dataset, teachers
) -> None:
    targets = teacher_probabilities(tuple(teachers), small_dataset, DistInfo())
    table, recorded = targets.table, targets.teachers
    assert targets.cache_path is None and not targets.from_cache
    train_rows = small_dataset.rows_of(small_dataset.split_innings("train"))
    held_out = np.setdiff1d(np.arange(small_dataset.labels.shape[0]), train_rows)
    torch.testing.assert_close(table[train_rows].sum(-1), torch.ones(train_rows.shape[0]))
    assert held_out.size and not table[held_out].any()  # val and test are never looked at
    # Recompute one innings by hand from each teacher's weights and temperature.
    innings = small_dataset.split_innings("train")[:1]
    graph = HeteroDataBuilder(small_dataset).build_innings(innings)
    expected = torch.zeros(graph["query"].y.shape[0], 7)
    for path, entry in zip(teachers, recorded, strict=True):
        saved = load_checkpoint(path)
        model, _ = model_from_checkpoint(saved)
        assert entry["temperature"] == saved["temperature"] != 1.0
        assert entry["sha256"] == sha256_of(Path(path))
        assert entry["path"] == str(Path(path).resolve())
        with torch.no_grad():
            expected += torch.softmax(model(graph) / saved["temperature"], -1) / len(teachers)
    torch.testing.assert_close(table[small_dataset.rows_of(innings)], expected)


def test_a_distilled_run_differs_and_records_its_teachers(small_dataset, teachers, tmp_path):
    runs = one_epoch_runs(
        small_dataset,
        tmp_path,
        plain=tiny_train_config(),
        student=tiny_train_config(teachers=tuple(teachers)),
    )
    a, b = runs["plain"], runs["student"]
    assert "teachers" not in a
    assert [t["sha256"] for t in b["teachers"]] == [sha256_of(Path(p)) for p in teachers]
    assert b["train_config"]["teachers"] == tuple(teachers)
    assert b["train_config"]["distill_weight"] == 0.8
    assert weights_differ(a, b)


def test_the_soft_targets_are_cached_by_the_teachers_bytes(
    small_dataset, teachers, tmp_path
) -> None:
    cache = tmp_path / "cache"
    rng = torch.get_rng_state()
    first = teacher_probabilities(tuple(teachers), small_dataset, DistInfo(), cache)
    # Building the teachers leaves the student's random stream where it was.
    assert torch.equal(torch.get_rng_state(), rng)
    assert not first.from_cache and first.cache_path is not None
    assert first.cache_path.parent == cache / "teachers" and first.cache_path.is_file()
    again = teacher_probabilities(tuple(teachers), small_dataset, DistInfo(), cache)
    assert again.from_cache and again.cache_path == first.cache_path
    assert torch.equal(again.table, first.table) and again.teachers == first.teachers
    # Another set of teachers is another entry.
    one = teacher_probabilities(tuple(teachers[:1]), small_dataset, DistInfo(), cache)
    assert not one.from_cache and one.cache_path != first.cache_path
    assert not torch.equal(one.table, first.table)
    # A teacher whose bytes changed (here: its temperature) is recomputed, not served stale.
    saved = load_checkpoint(teachers[0])
    hotter = tmp_path / "hotter.pt"
    save_checkpoint(hotter, {**saved, "temperature": saved["temperature"] * 2})
    changed = teacher_probabilities((str(hotter),), small_dataset, DistInfo(), cache)
    assert not changed.from_cache and changed.cache_path != one.cache_path
    # A torn cache file is recomputed and written again.
    first.cache_path.write_bytes(first.cache_path.read_bytes()[:100])
    torn = teacher_probabilities(tuple(teachers), small_dataset, DistInfo(), cache)
    assert not torn.from_cache and torch.equal(torn.table, first.table)
    assert teacher_probabilities(tuple(teachers), small_dataset, DistInfo(), cache).from_cache
    # A cache that cannot be written costs time, not the run.
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    unkept = teacher_probabilities(tuple(teachers), small_dataset, DistInfo(), blocked)
    assert unkept.cache_path is None and torch.equal(unkept.table, first.table)


def test_the_cache_keeps_the_most_recently_used_tables(small_dataset, teachers, tmp_path) -> None:
    directory = tmp_path / "cache" / "teachers"
    directory.mkdir(parents=True)
    now = time.time()
    # A full cache of older tables, old[0] the oldest (8 hours), old[-1] the newest (1 hour).
    old = [directory / f"soft-targets-old{i}.pt" for i in range(TEACHER_CACHE_KEEP)]
    for age, path in enumerate(reversed(old), start=1):
        path.write_bytes(b"x")
        os.utime(path, (now - 3600 * age, now - 3600 * age))
    first = teacher_probabilities(
        tuple(teachers[:1]), small_dataset, DistInfo(), tmp_path / "cache"
    )
    assert first.cache_path is not None and first.cache_path.is_file()
    assert sorted(directory.glob("*.pt")) == sorted([*old[1:], first.cache_path])
    # A hit counts as a use: the table read now outlives older entries never read again.
    os.utime(first.cache_path, (now - 86_400, now - 86_400))
    assert teacher_probabilities(
        tuple(teachers[:1]), small_dataset, DistInfo(), tmp_path / "cache"
    ).from_cache
    partial = directory / "soft-targets-abc.pt.123.tmp"
    partial.write_bytes(b"x")
    fresh_partial = directory / "soft-targets-def.pt.456.tmp"
    fresh_partial.write_bytes(b"x")
    os.utime(partial, (now - 2 * 86_400, now - 2 * 86_400))
    second = teacher_probabilities(tuple(teachers), small_dataset, DistInfo(), tmp_path / "cache")
    assert second.cache_path is not None
    kept = sorted([*old[2:], first.cache_path, second.cache_path])
    assert sorted(directory.glob("*.pt")) == kept
    assert not partial.exists() and fresh_partial.exists()  # another run may be writing it
    removed = prune_teacher_cache(directory, keep=1)
    assert sorted(removed) == [path for path in kept if path != second.cache_path]
    assert list(directory.glob("*.pt")) == [second.cache_path]


def test_a_resumed_student_reads_its_teachers_from_the_cache_and_ends_the_same(
    small_dataset, teachers, tmp_path, one_thread
) -> None:
    config = tiny_train_config(run_name="cached", epochs=2, teachers=tuple(teachers))
    cache = tmp_path / "cache"
    # The straight run fills the cache; the interrupted and the resumed run read it.
    a, b, events = straight_and_resumed(config, small_dataset, tmp_path, cache_dir=cache)
    start = next(e for e in events if e["event"] == "start")
    assert start["teacher_probabilities"]["from_cache"] is True
    assert start["teacher_probabilities"]["path"].startswith(str(cache / "teachers"))
    for name, value in a["model_state"].items():
        assert torch.equal(b["model_state"][name], value), name


def test_a_teacher_from_other_data_is_refused(small_dataset, teachers, tmp_path) -> None:
    saved = load_checkpoint(teachers[0])
    other_vocabulary = tmp_path / "other_vocabulary.pt"
    fitted = dict(saved["fitted"], players=saved["fitted"]["players"][1:])
    save_checkpoint(other_vocabulary, {**saved, "fitted": fitted})
    with pytest.raises(ValueError, match="other vocabularies or feature scaling"):
        teacher_probabilities((str(other_vocabulary),), small_dataset, DistInfo())
    other_archive = tmp_path / "other_archive.pt"
    save_checkpoint(other_archive, {**saved, "data_version": "not-this-one"})
    with pytest.raises(ValueError, match="data version not-this-one"):
        teacher_probabilities((str(other_archive),), small_dataset, DistInfo())
    not_a_checkpoint = tmp_path / "notes.pt"
    not_a_checkpoint.write_text("hello")
    with pytest.raises(ValueError, match="notes.pt is not a readable cricket-gnn checkpoint"):
        teacher_probabilities((str(not_a_checkpoint),), small_dataset, DistInfo())
    with pytest.raises(ValueError, match="does not exist"):
        teacher_probabilities((str(tmp_path / "missing.pt"),), small_dataset, DistInfo())


def test_a_distill_weight_outside_0_1_is_refused() -> None:
    with pytest.raises(ValueError, match="distill_weight must be in \\[0, 1\\], got 1.5"):
        TrainConfig(run_name="x", distill_weight=1.5)


def test_train_py_names_a_missing_teacher_before_loading_any_data(tmp_path, capsys) -> None:
    from cricket_gnn.training.cli import main

    missing = tmp_path / "best_loss_gone.pt"
    assert main(["--teacher", str(missing), "--data", str(tmp_path / "no-archive.zip")]) == 2
    assert capsys.readouterr().err == (
        f"train.py: error: --teacher {missing}: no such checkpoint file\n"
    )
