"""Train a CricketHeteroGNN variant: `python train.py --model base …` or under torchrun."""

import sys

from cricket_gnn.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
