"""The compiled engine: the simulator, metrics, features and integral reward of ``PodSchedulingEnv`` as numba
kernels, bit for bit the same as the Python engine on the scenarios it supports (``unsupported_features``
says why a scenario is not)."""

from envs.compiled.engine import CompiledEpisode, unsupported_features

__all__ = ["CompiledEpisode", "unsupported_features"]
