"""Tiny hand-written Cricsheet JSON matches for edge-case tests.

A match is built from plain Python: `ball(...)` makes one delivery (extras and totals
filled in as Cricsheet writes them), `innings(...)` groups balls into overs the way a
scorer would (six legal balls an over), and `match(...)` wraps innings in the 1.1.0
`meta`/`info` envelope with a registry for two teams of eleven.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

HOME, AWAY = "Alpha", "Beta"
# Eleven players a side: "A1".."A11" bat for Alpha, "B1".."B11" for Beta.
SQUADS = {HOME: [f"A{i}" for i in range(1, 12)], AWAY: [f"B{i}" for i in range(1, 12)]}


def registry_id(name: str) -> str:
    """The registry id the factory gives a player (stable, like Cricsheet's hex ids)."""
    return f"id-{name.lower()}"


def ball(
    runs: int = 0,
    *,
    batter: str = "A1",
    non_striker: str = "A2",
    bowler: str = "B1",
    wides: int = 0,
    noballs: int = 0,
    byes: int = 0,
    legbyes: int = 0,
    penalty: int = 0,
    out: str | None = None,
    kind: str = "caught",
) -> dict[str, Any]:
    """One delivery: `runs` off the bat plus extras; `out` names a dismissed player."""
    extras = {
        name: amount
        for name, amount in (
            ("wides", wides),
            ("noballs", noballs),
            ("byes", byes),
            ("legbyes", legbyes),
            ("penalty", penalty),
        )
        if amount
    }
    total_extras = sum(extras.values())
    delivery: dict[str, Any] = {
        "batter": batter,
        "bowler": bowler,
        "non_striker": non_striker,
        "runs": {"batter": runs, "extras": total_extras, "total": runs + total_extras},
    }
    if extras:
        delivery["extras"] = extras
    if out is not None:
        delivery["wickets"] = [{"kind": kind, "player_out": out}]
    return delivery


def innings(
    team: str,
    balls: list[dict[str, Any]],
    *,
    target: dict[str, Any] | None = None,
    super_over: bool = False,
) -> dict[str, Any]:
    """An innings; a new over starts after every sixth legal ball."""
    overs: list[dict[str, Any]] = []
    legal_in_over = 6
    for delivery in balls:
        if legal_in_over == 6:
            overs.append({"over": len(overs), "deliveries": []})
            legal_in_over = 0
        overs[-1]["deliveries"].append(delivery)
        extras = delivery.get("extras", {})
        legal_in_over += int(not extras.get("wides") and not extras.get("noballs"))
    doc: dict[str, Any] = {"team": team, "overs": overs}
    if target is not None:
        doc["target"] = target
    if super_over:
        doc["super_over"] = True
    return doc


def match(
    innings_list: list[dict[str, Any]],
    *,
    date: str = "2023-03-01",
    venue: str = "Test Ground, Testville",
    teams: tuple[str, str] = (HOME, AWAY),
    version: str = "1.1.0",
    overs: int = 20,
    extra_people: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A whole match document in Cricsheet's JSON layout."""
    players = {team: SQUADS.get(team, []) for team in teams}
    people = [p for squad in players.values() for p in squad] + list(extra_people)
    return {
        "meta": {"data_version": version, "created": "2024-01-01", "revision": 1},
        "info": {
            "balls_per_over": 6,
            "dates": [date],
            "gender": "male",
            "match_type": "T20",
            "overs": overs,
            "players": players,
            "registry": {"people": {name: registry_id(name) for name in people}},
            "teams": list(teams),
            "venue": venue,
        },
        "innings": innings_list,
    }


def simple_match(date: str = "2023-03-01", **kwargs: Any) -> dict[str, Any]:
    """A short valid match: two four-ball innings (a single, a dot, a four, a wicket)."""
    first = innings(
        HOME, [ball(1), ball(0, batter="A2", non_striker="A1"), ball(4), ball(0, out="A1")]
    )
    second = innings(
        AWAY,
        [
            ball(0, batter="B1", non_striker="B2", bowler="A1"),
            ball(6, batter="B1", non_striker="B2", bowler="A1"),
        ],
        target={"overs": 20, "runs": 6},
    )
    return match([first, second], date=date, **kwargs)


def encode(doc: Any) -> bytes:
    """JSON bytes of a document (bytes pass through, for deliberately broken files)."""
    return doc if isinstance(doc, bytes) else json.dumps(doc).encode()


def write_folder(folder: Path, files: dict[str, Any]) -> Path:
    """Write `{file name: document or raw bytes}` into a folder, as an unzipped archive."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in files.items():
        (folder / name).write_bytes(encode(doc))
    return folder


def write_zip(path: Path, files: dict[str, Any], readme: bool = True) -> Path:
    """Write a zip laid out like Cricsheet's download (README.txt first, then matches)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if readme:
            archive.writestr("README.txt", "Hand-made test archive.\n")
        for name, doc in files.items():
            archive.writestr(name, encode(doc))
    return path
