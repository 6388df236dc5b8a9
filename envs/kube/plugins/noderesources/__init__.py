"""The noderesources plugins: NodeResourcesFit and NodeResourcesBalancedAllocation."""

from envs.kube.plugins.noderesources.balanced_allocation import BalancedAllocation
from envs.kube.plugins.noderesources.fit import Fit

__all__ = ["BalancedAllocation", "Fit"]
