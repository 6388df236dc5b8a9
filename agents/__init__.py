"""Scheduling policies for training and evaluation: learned agents (torch, stable-baselines3) and the
evaluation and experiment drivers. The numpy-only heuristics live in ``policies`` (shared with plugin/);
``HEURISTICS`` and ``make_policy`` are re-exported here."""

from podgym.policies import HEURISTICS, make_policy

__all__ = ["HEURISTICS", "make_policy"]
