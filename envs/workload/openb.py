"""The openb trace format (Alibaba GPU cluster, ATC'23 "Beware of Fragmentation"), read as the FGD simulator does.

Node CSV: ``sn,cpu_milli,memory_mib,gpu,model``. Pod CSV:
``name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time``
or its 5-column variant ``name,cpu_milli,memory_mib,num_gpu,gpu_milli`` (the multigpu lists). Columns
after the required ones may come in any order; unknown columns are ignored.

Interpretation (as the FGD simulator reads the files; docs/fgd-openb.md):

* a node: allocatable = capacity = ``cpu_milli`` milli-CPU, ``memory_mib`` MiB, ``gpu`` × ``nvidia.com/gpu``,
  1001 pods; the GPU model is the node label ``nvidia.com/gpu.product`` (none when ``model`` is empty);
* a pod: requests ``cpu_milli`` and ``memory_mib`` (explicit, so a 0 stays 0 for scoring too);
  ``gpu_milli`` per GPU clamped to [0, 1000]; ``num_gpu == 0`` (or a clamped ``gpu_milli`` of 0) is a CPU-only
  pod; ``gpu_spec`` tokens (split on ``|``, empty and NaN dropped, repeats kept) become a required node
  affinity ``nvidia.com/gpu.product In [tokens]``, so ``"|".join(values)`` gives back the constraint string;
* ``qos``, ``pod_phase`` and ``scheduled_time`` are ignored. With ``times=True`` a pod arrives at
  ``creation_time`` and runs ``deletion_time - creation_time`` seconds (an empty ``deletion_time``: it never
  departs); the FGD experiments ignore times (``times=False``: every pod arrives at 0 and never departs).

Pods stay in file order, which for some lists (``cpu050``...) is not creation-time order: use
``envs.workload.ops.sort_by_arrival`` to replay a trace in time.

A pod larger than every node is not an error here: the simulator keeps it pending and counts it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from podgym.envs.data import open_data_file
from podgym.envs.kube import parse_nodes
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import CPU, MEMORY, PODS, parse_pod
from podgym.envs.workload.objects import template_of
from podgym.envs.workload.types import GPU_MODEL_LABEL, GPU_RESOURCE, MILLI_GPU, ClusterSource, Workload

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
TIME_COLUMNS = ("creation_time", "deletion_time")
MAX_PODS_PER_NODE = 1001
MIB = 1 << 20
NAMESPACE = "default"
_NAN = ("nan", "none", "null")


class _Rows:
    """The data rows of a CSV file as dicts, with the line number and errors that name file, line, row and field."""

    def __init__(self, path: str | Path, required: tuple[str, ...], kind: str):
        self.path = str(path)
        self.required = required
        self.kind = kind

    def error(self, problem: str, line: int | None = None, name: str | None = None, field: str | None = None):
        where = f"{self.path}, line {line}" if line is not None else self.path
        return KubeObjectError(problem, source=where, obj=f"{self.kind} {name!r}" if name else None, field=field)

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        with open_data_file(self.path, f"openb {self.kind} list") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise self.error("the file is empty: expected a header line " + ",".join(self.required), 1)
            header = [h.strip() for h in header]
            self.header = header
            missing = [c for c in self.required if c not in header]
            if missing:
                raise self.error(
                    f"missing column(s) {', '.join(missing)} in the header (expected {','.join(self.required)})",
                    1,
                    field=missing[0],
                )
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                name = row[0].strip() if header[0] == self.required[0] else None
                if len(row) != len(header):
                    raise self.error(f"has {len(row)} fields, the header has {len(header)}", line, name)
                yield line, dict(zip(header, (v.strip() for v in row)))

    def number(self, row: dict[str, str], line: int, name: str, field: str, *, integer: bool = True) -> float:
        """A required non-negative number (an integer unless `integer` is False)."""
        raw = row.get(field, "")
        if raw == "" or raw.lower() in _NAN:
            raise self.error("missing value", line, name, field)
        try:
            value = float(raw)
        except ValueError:
            raise self.error(f"expected a number, got {raw!r}", line, name, field) from None
        if not math.isfinite(value):
            raise self.error(f"expected a finite number, got {raw!r}", line, name, field)
        if value < 0:
            raise self.error(f"must not be negative, got {raw!r}", line, name, field)
        if integer:
            if value != int(value):
                raise self.error(f"expected an integer, got {raw!r}", line, name, field)
            return int(value)
        return value


def _name(rows: _Rows, row: dict[str, str], line: int, field: str) -> str:
    name = row.get(field, "")
    if not name:
        raise rows.error("missing value", line, None, field)
    return name


def read_openb_nodes(path: str | Path) -> list[dict[str, Any]]:
    """Node dicts (as ``kubectl get nodes -o json`` items) of an openb node CSV, in file order."""
    rows = _Rows(path, NODE_COLUMNS, "node")
    nodes = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        name = _name(rows, row, line, "sn")
        if name in first_line:
            raise rows.error(f"duplicate node name (first on line {first_line[name]})", line, name, "sn")
        first_line[name] = line
        cpu = rows.number(row, line, name, "cpu_milli")
        memory = rows.number(row, line, name, "memory_mib")
        gpus = rows.number(row, line, name, "gpu")
        model = row.get("model", "")
        if model.lower() in _NAN:
            model = ""
        labels = {"kubernetes.io/hostname": name}
        resources = {
            CPU: f"{cpu // 1000}" if cpu % 1000 == 0 else f"{cpu}m",
            MEMORY: f"{memory}Mi",
            PODS: str(MAX_PODS_PER_NODE),
        }
        if model:
            labels[GPU_MODEL_LABEL] = model
        if gpus:
            resources[GPU_RESOURCE] = str(gpus)
        nodes.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": labels},
                "spec": {},
                "status": {"capacity": dict(resources), "allocatable": dict(resources)},
            }
        )
    return nodes


def read_openb_cluster(path: str | Path) -> ClusterSource:
    """A ClusterSource of an openb node CSV (parsed nodes, nothing bound)."""
    try:
        nodes = parse_nodes(read_openb_nodes(path))
    except KubeObjectError as exc:
        raise exc.within(source=str(path)) from None
    return ClusterSource(nodes=nodes, source=str(path))


def gpu_spec_tokens(spec: str) -> tuple[str, ...]:
    """The GPU models of a ``gpu_spec`` string: split on ``|``, empty and NaN tokens dropped, repeats kept."""
    if spec.strip().lower() in ("", *_NAN):
        return ()
    return tuple(t for t in (s.strip() for s in spec.split("|")) if t and t.lower() not in _NAN)


def _template(models: tuple[str, ...]) -> dict[str, Any]:
    """The template Pod of openb pods constrained to `models` (none: no constraint)."""
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "template", "namespace": NAMESPACE},
        "spec": {"containers": []},
    }
    if models:
        term = {"matchExpressions": [{"key": GPU_MODEL_LABEL, "operator": "In", "values": list(models)}]}
        pod["spec"]["affinity"] = {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
        }
    return template_of(parse_pod(pod))


def read_openb_pods(path: str | Path, times: bool = True) -> Workload:
    """The pods of an openb pod CSV (either variant), in file order.

    With `times` and both time columns present, arrival = ``creation_time`` and duration =
    ``deletion_time - creation_time``; otherwise every pod arrives at 0 and never departs.
    Malformed rows raise KubeObjectError naming the file, the line, the pod and the column.
    """
    rows = _Rows(path, POD_COLUMNS, "pod")
    names: list[str] = []
    cpu: list[int] = []
    mem: list[int] = []
    gpu_count: list[int] = []
    gpu_milli: list[int] = []
    arrival: list[float] = []
    duration: list[float] = []
    template: list[int] = []
    templates: dict[tuple[str, ...], int] = {}
    use_times: bool | None = None
    for line, row in rows:
        if use_times is None:
            use_times = times and all(c in rows.header for c in TIME_COLUMNS)
        name = _name(rows, row, line, "name")
        names.append(name)
        cpu.append(rows.number(row, line, name, "cpu_milli"))
        mem.append(rows.number(row, line, name, "memory_mib") * MIB)
        k = rows.number(row, line, name, "num_gpu")
        m = rows.number(row, line, name, "gpu_milli")
        if k > 1 and m < MILLI_GPU:
            raise rows.error(
                f"a pod with num_gpu {k} must ask whole GPUs (gpu_milli 1000), got {m}: only a single-GPU pod shares",
                line,
                name,
                "gpu_milli",
            )
        m = min(m, MILLI_GPU)
        if k == 0 or m == 0:
            k = m = 0
        gpu_count.append(k)
        gpu_milli.append(m)
        models = gpu_spec_tokens(row.get("gpu_spec", "")) if k else ()
        template.append(templates.setdefault(models, len(templates)))
        if use_times:
            created = rows.number(row, line, name, "creation_time", integer=False)
            if row["deletion_time"] == "":
                life = math.inf
            else:
                deleted = rows.number(row, line, name, "deletion_time", integer=False)
                if deleted < created:
                    raise rows.error(
                        f"deletion_time {row['deletion_time']} is before creation_time {row['creation_time']}",
                        line,
                        name,
                        "deletion_time",
                    )
                life = deleted - created
            arrival.append(created)
            duration.append(life)
    n = len(names)
    requests = {CPU: np.array(cpu, dtype=np.int64), MEMORY: np.array(mem, dtype=np.int64)}
    return Workload(
        names=names,
        arrival=np.array(arrival, dtype=np.float64) if use_times else np.zeros(n),
        duration=np.array(duration, dtype=np.float64) if use_times else np.full(n, np.inf),
        requests=requests,
        # Every openb request is explicit (a 0 included), so the scoring requests are the requests.
        nonzero_cpu=requests[CPU].copy(),
        nonzero_memory=requests[MEMORY].copy(),
        gpu_count=np.array(gpu_count, dtype=np.int64),
        gpu_milli=np.array(gpu_milli, dtype=np.int64),
        priority=np.zeros(n, dtype=np.int64),
        template=np.array(template, dtype=np.int32),
        templates=[parse_pod(_template(models)) for models in templates],
        source=str(path),
    )


def sample_nodes(cluster: ClusterSource, count: int, rng: np.random.Generator) -> ClusterSource:
    """A proportional sample of `count` nodes: each (GPU model, GPU count) group keeps its share of the
    cluster (largest remainders round the shares to whole nodes); nodes keep their original order."""
    nodes = cluster.nodes
    if not 0 < count <= len(nodes):
        raise ValueError(f"sample of {count} nodes from a cluster of {len(nodes)}")
    groups: dict[tuple[str, int], list[int]] = {}
    for i, n in enumerate(nodes):
        groups.setdefault((n.labels.get(GPU_MODEL_LABEL, ""), n.allocatable.get(GPU_RESOURCE, 0)), []).append(i)
    keys = sorted(groups)
    exact = np.array([len(groups[k]) * count / len(nodes) for k in keys])
    quota = np.floor(exact).astype(int)
    for j in np.argsort(-(exact - quota), kind="stable")[: count - int(quota.sum())]:
        quota[j] += 1
    chosen: list[int] = []
    for k, q in zip(keys, quota):
        if q:
            chosen += rng.choice(groups[k], size=int(q), replace=False).tolist()
    return ClusterSource(nodes=[nodes[i] for i in sorted(chosen)], source=cluster.source)
