"""The compiled engine: the simulator, metrics, features and integral reward of ``PodSchedulingEnv`` as numba
kernels, bit for bit the same as the Python engine on the scenarios it supports. ``COVERAGE`` declares what the
kernels implement; ``unsupported_features`` says why a scenario is not supported."""

from podgym.envs.compiled.engine import COVERAGE, CompiledEpisode, Coverage, unsupported_features

__all__ = ["COVERAGE", "CompiledEpisode", "Coverage", "unsupported_features"]
