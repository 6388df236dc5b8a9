"""evaluate.py: evaluate scheduling policies and write a report a researcher can publish.

The command lives in `podgym.agents.commands.evaluate`, installed as `podgym-evaluate`;
`python evaluate.py --help` lists its options.
"""

import sys

from podgym.agents.commands.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
