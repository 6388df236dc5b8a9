"""The command-line entry points: `podgym-train`, `podgym-evaluate`, `podgym-export` (and the root scripts)."""
