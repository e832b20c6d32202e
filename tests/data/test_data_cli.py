"""`cricket-gnn data import`: the summary a user reads, and exit statuses 0/1/2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cricket_gnn import cli
from cricket_gnn.cli import main
from tests.cricsheet_factory import (
    AWAY,
    HOME,
    ball,
    innings,
    match,
    simple_match,
    write_folder,
    write_zip,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "cricket_gnn", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _three_split_archive(folder: Path) -> Path:
    # The val match brings a bowler nobody saw in train: 2 of its 6 targets are "unseen".
    newcomer = [
        ball(0, batter="B1", non_striker="B2", bowler="N1"),
        ball(4, batter="B1", non_striker="B2", bowler="N1"),
    ]
    val = match(
        [
            innings(HOME, [ball(1), ball(0), ball(0), ball(6)]),
            innings(AWAY, newcomer, target={"overs": 20, "runs": 8}),
        ],
        date="2024-07-01",
        extra_people=("N1",),
    )
    files = {
        "100.json": simple_match(date="2023-01-01"),
        "200.json": val,
        "300.json": simple_match(date="2025-01-01"),
    }
    return write_folder(folder, files)


def test_the_summary_shows_sizes_splits_classes_and_unseen_shares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _three_split_archive(tmp_path / "archive")
    status = main(["data", "import", str(path), "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert status == 0
    assert "matches        3 imported, 0 file(s) skipped" in out
    assert "deliveries     18 (18 targets in 6 innings" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert lines["train"].split()[1:6] == ["1", "2", "6", "2023-01-01", "2023-01-01"]
    assert "33.3% of targets" in lines["val"]
    assert "0.0% of targets" in lines["test"]
    # train labels: single, dot, four, wicket | dot, six -> 2 dots of 6 = 33.3%.
    assert lines["dot"].split()[1:3] == ["2", "33.3%"]
    assert lines["wicket"].split()[1:3] == ["1", "16.7%"]
    assert "data version   " in out and "skipped files" not in out


def test_a_clean_import_exits_0_and_the_second_run_reads_the_cache(tmp_path: Path) -> None:
    path = _three_split_archive(tmp_path / "archive")
    first = _run("data", "import", path, "--cache-dir", tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    assert "cached in" in first.stdout
    assert list((tmp_path / "cache").glob("deliveries-*.npz"))
    second = _run("data", "import", path, "--cache-dir", tmp_path / "cache")
    assert second.returncode == 0
    assert "loaded from cache" in second.stdout


def test_no_cache_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _three_split_archive(tmp_path / "archive")
    cache = tmp_path / "cache"
    assert main(["data", "import", str(path), "--cache-dir", str(cache), "--no-cache"]) == 0
    assert not cache.exists() or not any(cache.iterdir())
    assert "cache off" in capsys.readouterr().out


def test_skipped_files_are_listed_with_reasons_and_exit_1(tmp_path: Path) -> None:
    files = {
        "100.json": simple_match(date="2023-01-01"),
        "bad-json.json": b"{oops",
        "not-a-match.json": {"hello": 1},
    }
    path = write_zip(tmp_path / "mixed.zip", files)
    result = _run("data", "import", path, "--cache-dir", tmp_path / "cache")
    assert result.returncode == 1
    assert "1 imported, 2 file(s) skipped" in result.stdout
    assert "  bad-json.json: not valid JSON" in result.stdout
    assert "  not-a-match.json: not a Cricsheet match" in result.stdout
    assert "2 file(s) skipped" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_truncated_download_imports_what_is_intact_and_exits_1(tmp_path: Path) -> None:
    files = {f"{400 + i}.json": simple_match(date=f"2023-04-{i + 1:02d}") for i in range(6)}
    data = write_zip(tmp_path / "full.zip", files).read_bytes()
    cut = tmp_path / "t20s_male_json.zip"
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = _run("data", "import", cut, "--cache-dir", tmp_path / "cache")
    assert result.returncode == 1, result.stderr
    assert "t20s_male_json.zip: unreadable: truncated or damaged zip" in result.stdout
    imported = int(result.stdout.split("matches")[1].split()[0])
    assert 1 <= imported < 6


@pytest.mark.parametrize("case", ["missing", "no-usable-match"])
def test_unusable_input_gets_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    if case == "missing":
        path = tmp_path / "no-such.zip"
    else:
        path = write_folder(tmp_path / "bad", {"1.json": {"hello": 1}})
    result = _run("data", "import", path, "--cache-dir", tmp_path / "cache")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("cricket-gnn: error:")
    assert str(path.name) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_subcommand_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["data"])
    assert exit_info.value.code == 2


def record_argv(argv: list[str]) -> int:
    """Stands in for a delegated command's main (e.g. training.cli.main)."""
    record_argv.seen = argv  # type: ignore[attr-defined]
    return 7


def test_a_delegated_command_gets_every_argument_after_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        cli.DELEGATED_COMMANDS, "train", (f"{__name__}:record_argv", "train a model")
    )
    assert main(["train", "--model", "base", "--help"]) == 7
    assert record_argv.seen == ["--model", "base", "--help"]  # type: ignore[attr-defined]
