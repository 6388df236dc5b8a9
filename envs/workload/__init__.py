"""Where pods come from: synthetic generators, the openb trace, cluster snapshots and manifests, node pools.

Every source gives the same two things (``envs.workload.types``): a ``Workload`` (pods in arrival order,
struct-of-arrays, constraints shared through templates) and a ``ClusterSource`` (parsed nodes and, from
a snapshot, the pods already bound to them). Everything is deterministic: a synthetic workload is a
function of its config and seed; files are read in file order.

::

    from podgym.envs.workload import generate, nodes_from_pools, read_openb_pods, read_snapshot
    pods = generate({"num_pods": 1000, "arrivals": {"process": "poisson", "rate": 2.0},
                     "classes": [{"name": "web", "cpu": "500m", "memory": "1Gi"}]}, seed=0)
    nodes = nodes_from_pools([{"name": "cpu", "count": 4, "cpu": "8", "memory": "32Gi"}])
"""

from podgym.envs.workload.objects import gpu_ask, template_of, workload_from_pods
from podgym.envs.workload.openb import gpu_spec_tokens, read_openb_cluster, read_openb_nodes, read_openb_pods
from podgym.envs.workload.ops import sort_by_arrival, take
from podgym.envs.workload.pools import NodePool, cluster_from_pools, nodes_from_pools
from podgym.envs.workload.snapshot import (
    Snapshot,
    load_documents,
    load_snapshot,
    pods_from_manifests,
    read_snapshot,
    snapshot_from_objects,
    workload_from_manifests,
)
from podgym.envs.workload.synthetic import (
    DiurnalArrivals,
    ExponentialLifetime,
    FixedLifetime,
    ForeverLifetime,
    LognormalLifetime,
    PodClass,
    PoissonArrivals,
    SyntheticWorkloadConfig,
    arrival_times,
    generate,
)
from podgym.envs.workload.types import (
    GPU_COUNT_ANNOTATION,
    GPU_MILLI_ANNOTATION,
    GPU_MODEL_LABEL,
    GPU_RESOURCE,
    MILLI_GPU,
    ClusterSource,
    Workload,
    empty_workload,
)

__all__ = [
    "GPU_COUNT_ANNOTATION",
    "GPU_MILLI_ANNOTATION",
    "GPU_MODEL_LABEL",
    "GPU_RESOURCE",
    "MILLI_GPU",
    "ClusterSource",
    "DiurnalArrivals",
    "ExponentialLifetime",
    "FixedLifetime",
    "ForeverLifetime",
    "LognormalLifetime",
    "NodePool",
    "PodClass",
    "PoissonArrivals",
    "Snapshot",
    "SyntheticWorkloadConfig",
    "Workload",
    "arrival_times",
    "cluster_from_pools",
    "empty_workload",
    "generate",
    "gpu_ask",
    "gpu_spec_tokens",
    "load_documents",
    "load_snapshot",
    "nodes_from_pools",
    "pods_from_manifests",
    "read_openb_cluster",
    "read_openb_nodes",
    "read_openb_pods",
    "read_snapshot",
    "snapshot_from_objects",
    "sort_by_arrival",
    "take",
    "template_of",
    "workload_from_manifests",
    "workload_from_pods",
]
