"""podgym environments: Kubernetes semantics (envs.kube), the cluster simulator, and the Gymnasium environment.

``import envs`` registers ``podgym/PodScheduling-v0``. Gymnasium is optional for the deployable plugin,
which imports envs.kube and envs.features only.
"""

try:
    import gymnasium as _gym
except ImportError:  # the plugin image has no Gymnasium; nothing to register there
    _gym = None

ENV_ID = "podgym/PodScheduling-v0"

if _gym is not None and ENV_ID not in _gym.registry:
    _gym.register(id=ENV_ID, entry_point="podgym.envs.env:PodSchedulingEnv")
