"""Class, phase and binning constants used by every evaluation metric."""

from __future__ import annotations

CLASS_NAMES = ("dot", "single", "two", "three", "four", "six", "wicket")
NUM_CLASSES = len(CLASS_NAMES)
# Runs off the bat each class stands for; a wicket scores nothing for the label.
CLASS_RUNS = (0, 1, 2, 3, 4, 6, 0)
WICKET_CLASS = 6
BOUNDARY_CLASSES = (4, 5)

PHASE_NAMES = ("powerplay", "middle_1", "middle_2", "death_1", "death_2")
NUM_PHASES = len(PHASE_NAMES)
# First legal over (0-indexed) of each phase.
PHASE_START_OVERS = (0, 6, 11, 15, 18)

# Innings are numbered as in the scorecard: 1 (batting first) and 2 (the chase).
INNINGS = (1, 2)
NUM_INNINGS = len(INNINGS)

ECE_NUM_BINS = 15
