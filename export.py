"""export.py: export a trained policy as a scheduler plugin model.

The command lives in `podgym.agents.commands.export`, installed as `podgym-export`;
`python export.py --help` lists its options.
"""

import sys

from podgym.agents.commands.export import main

if __name__ == "__main__":
    sys.exit(main())
