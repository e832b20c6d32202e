"""Parse one Cricsheet JSON match into delivery rows, rejecting impossible matches."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cricket_gnn.data.schema import NON_DISMISSAL_KINDS, WICKET_KINDS

_WICKET_KIND_INDEX = {kind: i for i, kind in enumerate(WICKET_KINDS)}
_MAX_RUNS_ON_A_BALL = 12
_MAX_OVERS = 50


class MalformedMatch(ValueError):
    """A match file that is not a usable Cricsheet match; the message says why."""


@dataclass
class ParsedMatch:
    """One match: its info plus one row per delivery (parallel lists)."""

    match_id: str
    date: dt.date
    venue: str
    teams: tuple[str, str]
    people: dict[str, str]  # registry id -> display name
    rows: dict[str, list[Any]] = field(default_factory=dict)


def normalise_name(name: str) -> str:
    """Collapse whitespace; venues also drop the ', City' suffix newer files append."""
    return re.sub(r"\s+", " ", name).strip()


def normalise_venue(venue: str) -> str:
    """'Eden Gardens, Kolkata' and 'Eden Gardens' are one venue."""
    return normalise_name(venue.split(",")[0])


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise MalformedMatch(f"missing field '{key}' in {where}")
    return mapping[key]


def _int(value: Any, where: str, low: int = 0, high: int = _MAX_RUNS_ON_A_BALL) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMatch(f"{where} is not an integer: {value!r}")
    if not low <= value <= high:
        raise MalformedMatch(f"{where} = {value} is outside [{low}, {high}]")
    return value


# Fields that one delivery determines on its own (the rest come from its innings).
DELIVERY_FIELDS = (
    "batter",
    "non_striker",
    "bowler",
    "runs_batter",
    "runs_extras",
    "runs_total",
    "wides",
    "noballs",
    "byes",
    "legbyes",
    "penalty",
    "wicket_kind",
    "player_out",
    "is_dismissal",
)
# Every field of a parsed row: the delivery's own, plus those its innings sets.
ROW_FIELDS = (
    "innings",
    "super_over",
    "over",
    *DELIVERY_FIELDS,
    "target_runs",
    "target_overs",
    "batting_team",
    "bowling_team",
)


def parse_delivery(
    delivery: Any, ball_where: str, person: Callable[[Any, str], str]
) -> dict[str, Any]:
    """One Cricsheet delivery -> its DELIVERY_FIELDS, or MalformedMatch naming the problem.

    `person(name, field)` maps a player field to the identity stored in the rows (the
    importer maps names through info.registry; live inference passes registry ids).
    """
    dismissals = 0
    runs = _require(delivery, "runs", ball_where)
    runs_batter = _int(_require(runs, "batter", ball_where), f"{ball_where} runs.batter")
    runs_extras = _int(_require(runs, "extras", ball_where), f"{ball_where} runs.extras")
    runs_total = _int(_require(runs, "total", ball_where), f"{ball_where} runs.total")
    if runs_total != runs_batter + runs_extras:
        raise MalformedMatch(
            f"{ball_where}: runs.total {runs_total} != batter {runs_batter} + extras {runs_extras}"
        )
    extras = delivery.get("extras", {}) or {}
    if not isinstance(extras, dict):
        raise MalformedMatch(f"{ball_where}: extras is not a mapping: {extras!r}")
    amounts = {
        kind: _int(extras.get(kind, 0), f"{ball_where} extras.{kind}")
        for kind in ("wides", "noballs", "byes", "legbyes", "penalty")
    }
    unknown = set(extras) - set(amounts)
    if unknown:
        raise MalformedMatch(f"{ball_where}: unknown extras kind {sorted(unknown)}")
    wicket_kind, player_out, is_dismissal = 0, "", False
    for wicket in delivery.get("wickets", []) or []:
        kind = str(_require(wicket, "kind", ball_where))
        out = person(_require(wicket, "player_out", ball_where), "player_out")
        dismissal = kind not in NON_DISMISSAL_KINDS
        # Two dismissals on one ball (rare): keep the one that ends an innings.
        if wicket_kind == 0 or dismissal:
            wicket_kind = _WICKET_KIND_INDEX.get(kind, _WICKET_KIND_INDEX["other"])
            player_out = out
        is_dismissal = is_dismissal or dismissal
        dismissals += int(dismissal)
    return {
        "batter": person(_require(delivery, "batter", ball_where), "batter"),
        "non_striker": person(_require(delivery, "non_striker", ball_where), "non_striker"),
        "bowler": person(_require(delivery, "bowler", ball_where), "bowler"),
        "runs_batter": runs_batter,
        "runs_extras": runs_extras,
        "runs_total": runs_total,
        **amounts,
        "wicket_kind": wicket_kind,
        "player_out": player_out,
        "is_dismissal": is_dismissal,
        "dismissals": dismissals,  # two on one ball are possible (run out + retired)
    }


def parse_match(match_id: str, doc: Any) -> ParsedMatch:
    """Turn a decoded Cricsheet document into a ParsedMatch or raise MalformedMatch."""
    if not isinstance(doc, dict) or "info" not in doc or "innings" not in doc:
        raise MalformedMatch("not a Cricsheet match (needs top-level 'info' and 'innings')")
    info = doc["info"]
    dates = _require(info, "dates", "info")
    if not isinstance(dates, list) or not dates:
        raise MalformedMatch("info.dates is empty")
    try:
        date = dt.date.fromisoformat(str(dates[0]))
    except ValueError as exc:
        raise MalformedMatch(f"info.dates[0] is not a date: {dates[0]!r}") from exc
    teams = _require(info, "teams", "info")
    if not isinstance(teams, list) or len(teams) != 2 or teams[0] == teams[1]:
        raise MalformedMatch(f"info.teams must name two different teams, got {teams!r}")
    team_names = (normalise_name(teams[0]), normalise_name(teams[1]))
    venue = normalise_venue(str(_require(info, "venue", "info")))
    registry = _require(_require(info, "registry", "info"), "people", "info.registry")
    if not isinstance(registry, dict):
        raise MalformedMatch("info.registry.people is not a mapping")
    balls_per_over = info.get("balls_per_over", 6)
    if balls_per_over != 6:
        raise MalformedMatch(f"balls_per_over = {balls_per_over}; only 6-ball overs are modelled")
    match_overs = info.get("overs", 20)
    innings_list = doc["innings"]
    if not isinstance(innings_list, list):
        raise MalformedMatch("'innings' is not a list")

    parsed = ParsedMatch(
        match_id=match_id,
        date=date,
        venue=venue,
        teams=team_names,
        people={pid: name for name, pid in registry.items()},
        rows={name: [] for name in ROW_FIELDS},
    )

    def person(name: Any, where: str) -> str:
        if name not in registry:
            raise MalformedMatch(f"{where} {name!r} is not in info.registry.people")
        return str(registry[name])

    first_innings_total = 0
    for innings_number, innings in enumerate(innings_list, start=1):
        where = f"innings {innings_number}"
        batting = normalise_name(str(_require(innings, "team", where)))
        if batting not in team_names:
            raise MalformedMatch(f"{where}: batting team {batting!r} is not one of info.teams")
        bowling = team_names[1] if batting == team_names[0] else team_names[0]
        super_over = bool(innings.get("super_over", False))
        target = innings.get("target") or {}
        target_runs = int(target.get("runs", 0) or 0)
        target_overs = float(target.get("overs", 0) or 0)
        if innings_number == 2 and not super_over and target_runs == 0:
            # Cricsheet 1.0.0 files carry no target: it is the first innings plus one,
            # over the scheduled overs.
            target_runs = first_innings_total + 1
            target_overs = float(match_overs)
        innings_total = 0
        wickets = 0
        for over in innings.get("overs", []):
            over_number = _int(_require(over, "over", where), f"{where} over", 0, _MAX_OVERS)
            for delivery in _require(over, "deliveries", f"{where} over {over_number}"):
                ball_where = f"{where} over {over_number}"
                if wickets >= 10:
                    raise MalformedMatch(f"{ball_where}: a delivery after all out")
                ball = parse_delivery(delivery, ball_where, person)
                wickets += ball["dismissals"]
                row = parsed.rows
                row["innings"].append(innings_number)
                row["super_over"].append(super_over)
                row["over"].append(over_number)
                for name in DELIVERY_FIELDS:
                    row[name].append(ball[name])
                row["target_runs"].append(target_runs)
                row["target_overs"].append(target_overs)
                row["batting_team"].append(batting)
                row["bowling_team"].append(bowling)
                innings_total += ball["runs_total"]
        if innings_number == 1:
            first_innings_total = innings_total
    if not parsed.rows["innings"]:
        raise MalformedMatch("the match has no deliveries")
    return parsed
