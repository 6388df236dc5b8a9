"""train.py: train a learned scheduler on a scenario with stable-baselines3.

The command lives in `podgym.agents.commands.train`, installed as `podgym-train`;
`python train.py --help` lists its options.
"""

import sys

from podgym.agents.commands.train import main

if __name__ == "__main__":
    sys.exit(main())
