"""The noderesources plugins: NodeResourcesFit and NodeResourcesBalancedAllocation."""

from podgym.envs.kube.plugins.noderesources.balanced_allocation import BalancedAllocation
from podgym.envs.kube.plugins.noderesources.fit import Fit

__all__ = ["BalancedAllocation", "Fit"]
