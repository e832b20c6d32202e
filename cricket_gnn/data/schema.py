"""Constants shared by the importer, the graph builder and the models."""

from __future__ import annotations

# Bump whenever the deliveries table or a derived feature changes meaning: it is part of
# the data version, so every cache built by older code is ignored.
SCHEMA_VERSION = 3

CLASS_NAMES = ("dot", "single", "two", "three", "four", "six", "wicket")
NUM_CLASSES = len(CLASS_NAMES)
# Runs off the bat that each class stands for (a wicket scores nothing for the label).
CLASS_RUNS = (0, 1, 2, 3, 4, 6, 0)
WICKET_CLASS = 6

PHASE_NAMES = ("powerplay", "middle_1", "middle_2", "death_1", "death_2")
# First legal over (0-indexed) of each phase.
PHASE_START_OVERS = (0, 6, 11, 15, 18)

# Chronological split by match date: train < VAL_START <= val < TEST_START <= test.
VAL_START = "2024-06-16"
TEST_START = "2024-11-26"
SPLITS = ("train", "val", "test")

# Extras flags stored per delivery; a delivery may carry several (no-ball + byes).
EXTRAS_KINDS = ("wides", "noballs", "byes", "legbyes", "penalty")

# Dismissal kinds; index 0 = none. Unknown kinds from a newer Cricsheet map to "other".
WICKET_KINDS = (
    "none",
    "caught",
    "bowled",
    "lbw",
    "run out",
    "stumped",
    "caught and bowled",
    "hit wicket",
    "retired hurt",
    "retired not out",
    "retired out",
    "obstructing the field",
    "hit the ball twice",
    "handled the ball",
    "timed out",
    "other",
)
# Not dismissals for the label or the wicket count: the batter may come back.
NON_DISMISSAL_KINDS = frozenset({"retired hurt", "retired not out"})
# Dismissals credited to the bowler (for bowling career statistics).
BOWLER_WICKET_KINDS = frozenset(
    {"caught", "bowled", "lbw", "stumped", "caught and bowled", "hit wicket"}
)
