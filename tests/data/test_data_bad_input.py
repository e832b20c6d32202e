"""Malformed archives and matches are reported by file and reason, and skipped."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cricket_gnn.data import ArchiveNotFound, DeliveryTable, load_archive
from tests.cricsheet_factory import ball, simple_match, write_folder, write_zip


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(simple_match(date="2023-05-05"))
    change(doc)
    return doc


def _first_ball(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["innings"][0]["overs"][0]["deliveries"][0]


def _all_out_then_another_ball(doc: dict[str, Any]) -> None:
    wickets = [ball(0, batter=f"A{i}", out=f"A{i}", kind="bowled") for i in range(1, 11)]
    doc["innings"][0]["overs"] = [{"over": 0, "deliveries": [*wickets, ball(1, batter="A11")]}]


GOOD = {
    "1001.json": simple_match(date="2023-01-10"),
    "1002.json": simple_match(date="2023-01-11"),
}
# file name -> (content, a phrase the reported reason must contain)
BAD: dict[str, tuple[Any, str]] = {
    "2001.json": (b'{"meta": {"data_version": "1.1.0"}, "info": {', "not valid JSON"),
    "2002.json": (b"\xff\xfe\x00 binary junk", "not valid JSON"),
    "2003.json": ({"hello": 1}, "not a Cricsheet match"),
    "2004.json": (_broken(lambda d: d["info"].pop("registry")), "registry"),
    "2005.json": (_broken(lambda d: d["info"].pop("dates")), "dates"),
    "2006.json": (
        _broken(lambda d: _first_ball(d)["runs"].update(total=9)),
        "runs.total 9 != batter 1 + extras 0",
    ),
    "2007.json": (_broken(lambda d: _first_ball(d)["runs"].update(batter=-1, total=-1)), "-1"),
    "2008.json": (_broken(_all_out_then_another_ball), "after all out"),
    "2009.json": (_broken(lambda d: _first_ball(d).update(batter="Nobody")), "'Nobody'"),
    "2010.json": (_broken(lambda d: _first_ball(d).update(extras=[1])), "extras"),
    "2011.json": (_broken(lambda d: d.update(innings=[])), "no deliveries"),
}
EXPECTED_IDS = {"1001", "1002"}


def _reasons(table: DeliveryTable) -> dict[str, str]:
    return {Path(name).name: reason for name, reason in table.skipped}


@pytest.mark.parametrize("layout", ["folder", "zip"])
def test_every_bad_file_is_reported_and_the_good_matches_still_import(
    tmp_path: Path, layout: str
) -> None:
    files = {**GOOD, **{name: content for name, (content, _) in BAD.items()}}
    if layout == "folder":
        files["README.txt"] = b"not a match, and not reported"
        path = write_folder(tmp_path / "archive", files)
    else:
        path = write_zip(tmp_path / "archive.zip", files)

    table = load_archive(path, cache_dir=tmp_path / "cache")

    assert set(table.match_ids.tolist()) == EXPECTED_IDS
    reasons = _reasons(table)
    assert set(reasons) == set(BAD), "README.txt is not a match and is never reported"
    for name, (_, phrase) in BAD.items():
        assert phrase in reasons[name], f"{name}: {reasons[name]!r}"


def test_skipped_files_survive_the_cache(tmp_path: Path) -> None:
    path = write_folder(tmp_path / "archive", {**GOOD, "2003.json": {"hello": 1}})
    load_archive(path, cache_dir=tmp_path / "cache")
    cached = load_archive(path, cache_dir=tmp_path / "cache")
    assert [name for name, _ in cached.skipped] == ["2003.json"]


def _good_zip(tmp_path: Path, count: int) -> Path:
    files = {f"{3000 + i}.json": simple_match(date=f"2023-02-{i + 1:02d}") for i in range(count)}
    return write_zip(tmp_path / "full.zip", files)


@pytest.mark.parametrize("keep_fraction", [0.5, 0.97])
def test_a_truncated_zip_is_reported_and_its_intact_matches_import(
    tmp_path: Path, keep_fraction: float
) -> None:
    # An interrupted download: the zip's directory (at its end) and maybe some matches
    # are gone, but every match stored whole before the cut is still readable.
    full = _good_zip(tmp_path, 8)
    data = full.read_bytes()
    kept = int(len(data) * keep_fraction)
    cut = tmp_path / "t20s_male_json.zip"
    cut.write_bytes(data[:kept])
    with zipfile.ZipFile(full) as archive:
        members = [m for m in archive.infolist() if m.filename.endswith(".json")]
    data_start = {m.filename: m.header_offset + 30 + len(m.filename) for m in members}
    whole = {
        Path(m.filename).stem for m in members if data_start[m.filename] + m.compress_size <= kept
    }
    cut_through = {m.filename for m in members if data_start[m.filename] < kept} - {
        f"{stem}.json" for stem in whole
    }

    table = load_archive(cut, cache_dir=tmp_path / "cache")

    reasons = _reasons(table)
    assert "truncated" in reasons["t20s_male_json.zip"]
    assert set(table.match_ids.tolist()) == whole
    assert len(table) == 6 * len(whole)
    for name in cut_through:
        assert "truncated" in reasons[name]
    if keep_fraction > 0.9:
        assert len(whole) == len(members)  # only the directory at the end was lost
    else:
        assert 1 <= len(whole) < len(members) and cut_through


def test_a_corrupt_member_is_reported_and_the_rest_import(tmp_path: Path) -> None:
    path = _good_zip(tmp_path, 3)
    with zipfile.ZipFile(path) as archive:
        victim = archive.getinfo("3001.json")
    data = bytearray(path.read_bytes())
    start = victim.header_offset + 30 + len(victim.filename)
    for i in range(start + 5, start + 15):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))

    table = load_archive(path, cache_dir=tmp_path / "cache")

    assert set(table.match_ids.tolist()) == {"3000", "3002"}
    assert "unreadable" in _reasons(table)["3001.json"]


def test_a_missing_path_raises_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.zip"
    with pytest.raises(ArchiveNotFound, match="nowhere.zip"):
        load_archive(missing, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("files", [{}, {"2003.json": {"hello": 1}}], ids=["empty", "all-bad"])
def test_an_archive_without_a_usable_match_is_an_error(
    tmp_path: Path, files: dict[str, Any]
) -> None:
    path = write_folder(tmp_path / "archive", files)
    with pytest.raises(ValueError, match="no usable matches"):
        load_archive(path, cache_dir=tmp_path / "cache")
