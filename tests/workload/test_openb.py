"""The openb trace format: the sample files checked by hand, bad input, and the real trace's published facts."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

import podgym.envs.kube as kube
from podgym.envs.workload import (
    GPU_MODEL_LABEL,
    GPU_RESOURCE,
    gpu_spec_tokens,
    read_openb_cluster,
    read_openb_nodes,
    read_openb_pods,
)
from podgym.envs.workload.openb import NODE_COLUMNS
from tests.workload.helpers import DATA, openb_file

SAMPLE = DATA / "openb"
MIB = 1 << 20
POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time"
)


# --- the sample files --------------------------------------------------------------------------------------------


def test_sample_nodes():
    nodes = read_openb_nodes(SAMPLE / "nodes.csv")
    assert [n["metadata"]["name"] for n in nodes] == [f"sample-node-000{i}" for i in range(5)]
    cpu_only, g2 = nodes[0], nodes[1]
    assert cpu_only["status"]["allocatable"] == {"cpu": "32", "memory": "262144Mi", "pods": "1001"}
    assert GPU_MODEL_LABEL not in cpu_only["metadata"]["labels"]
    assert g2["status"]["allocatable"] == {"cpu": "96", "memory": "786432Mi", "pods": "1001", GPU_RESOURCE: "8"}
    assert g2["metadata"]["labels"] == {"kubernetes.io/hostname": "sample-node-0001", GPU_MODEL_LABEL: "G2"}
    assert nodes[4]["status"]["allocatable"]["cpu"] == "8500m"

    parsed = kube.parse_nodes(nodes)
    assert [n.allocatable for n in parsed] == [
        {"cpu": 32000, "memory": 262144 * MIB, "pods": 1001},
        {"cpu": 96000, "memory": 786432 * MIB, "pods": 1001, GPU_RESOURCE: 8},
        {"cpu": 64000, "memory": 262144 * MIB, "pods": 1001, GPU_RESOURCE: 2},
        {"cpu": 96000, "memory": 393216 * MIB, "pods": 1001, GPU_RESOURCE: 4},
        {"cpu": 8500, "memory": 65536 * MIB, "pods": 1001, GPU_RESOURCE: 1},
    ]
    assert [n.labels.get(GPU_MODEL_LABEL) for n in parsed] == [None, "G2", "T4", "V100M16", "P100"]


def test_sample_cluster():
    cluster = read_openb_cluster(SAMPLE / "nodes.csv")
    assert len(cluster.nodes) == 5 and cluster.initial is None and cluster.source.endswith("nodes.csv")


def test_sample_pods():
    w = read_openb_pods(SAMPLE / "pods.csv")
    assert len(w) == 20
    assert w.names == [f"sample-pod-{i:04d}" for i in range(20)]
    assert w.resource_names == ["cpu", "memory"]
    assert w.requests["cpu"].tolist()[:4] == [12000, 6000, 4000, 16000]
    assert w.requests["cpu"][9] == 3152
    assert w.requests["memory"].tolist()[:5] == [16384 * MIB, 12288 * MIB, 0, 65536 * MIB, 30517 * MIB]
    # explicit requests: scoring counts them as they are, a memory of 0 included
    np.testing.assert_array_equal(w.nonzero_cpu, w.requests["cpu"])
    np.testing.assert_array_equal(w.nonzero_memory, w.requests["memory"])
    assert w.nonzero_memory[2] == 0
    # num_gpu / gpu_milli: whole, sharing, CPU-only, multi-GPU, clamp 1500 -> 1000, a 0 milli ask -> CPU-only
    expected = {
        0: (1, 1000),
        1: (1, 460),
        2: (0, 0),
        3: (2, 1000),
        5: (1, 250),
        6: (8, 1000),
        7: (0, 0),
        8: (1, 1000),
        9: (4, 1000),
        11: (1, 50),
        13: (0, 0),
        14: (0, 0),
        16: (8, 1000),
        19: (1, 200),
    }
    for i, ask in expected.items():
        assert (w.gpu_count[i], w.gpu_milli[i]) == ask, w.names[i]
    # sum of m*k, row by row: 1000+460+2000+500+250+8000+1000+4000+460+50+1000+2000+8000+460+1000+200
    assert int(w.gpu_count @ w.gpu_milli) == 30_380
    assert np.all(w.priority == 0)


def test_sample_pod_times():
    w = read_openb_pods(SAMPLE / "pods.csv")
    assert w.arrival.tolist()[:4] == [0.0, 100.0, 150.0, 200.0]
    assert w.duration.tolist()[:4] == [5000.0, 800.0, 0.0, 1000.0]
    assert w.arrival[15] == 1200.5 and w.duration[15] == 999.75
    assert np.isinf(w.duration[18])  # an empty deletion_time: never departs
    untimed = read_openb_pods(SAMPLE / "pods.csv", times=False)
    assert np.all(untimed.arrival == 0) and np.all(np.isinf(untimed.duration))


def test_sample_gpu_spec_affinity():
    w = read_openb_pods(SAMPLE / "pods.csv")

    def models(i):
        terms = w.templates[w.template[i]].required_terms
        if terms is None:
            return None
        (term,) = terms
        (req,) = term.match_expressions
        assert (req.key, req.operator) == (GPU_MODEL_LABEL, "In")
        return req.values

    assert models(0) is None
    assert models(4) == ("V100M16", "V100M32")
    assert models(5) == ("V100M16", "V100M32", "V100M32")  # repeats kept: "|".join gives the raw spec back
    assert models(7) is None  # a CPU-only pod has no model constraint
    assert models(9) == ("G2",)
    assert models(10) == ("T4", "P100")  # the empty token dropped
    assert models(11) is None  # nan
    assert models(15) == ("V100M16",)
    assert len(w.templates) == 8
    assert all(t.namespace == "default" for t in w.templates)


def test_sample_pods_filter_on_models():
    nodes = read_openb_nodes(SAMPLE / "nodes.csv")
    w = read_openb_pods(SAMPLE / "pods.csv")
    verdict = kube.filter(w.pod_object(4), nodes, plugin="NodeAffinity")
    assert [name for name, reason in verdict.items() if reason is None] == ["sample-node-0003"]


def test_sample_multigpu_variant():
    w = read_openb_pods(SAMPLE / "pods_multigpu.csv")
    assert w.names == [f"sample-pod-000{i}" for i in range(5)]
    assert w.gpu_count.tolist() == [1, 1, 0, 8, 4]
    assert w.gpu_milli.tolist() == [1000, 460, 0, 1000, 1000]
    assert np.all(w.arrival == 0) and np.all(np.isinf(w.duration))
    assert len(w.templates) == 1


def test_gpu_spec_tokens():
    assert gpu_spec_tokens("") == ()
    assert gpu_spec_tokens("NaN") == ()
    assert gpu_spec_tokens("V100M16|V100M32|V100M32") == ("V100M16", "V100M32", "V100M32")
    assert gpu_spec_tokens("|T4||P100|") == ("T4", "P100")


def test_pod_larger_than_every_node_is_kept():
    w = read_openb_pods(SAMPLE / "pods.csv")
    assert w.requests["cpu"][16] == 500_000 and w.names[16] == "sample-pod-0016"


# --- bad input ---------------------------------------------------------------------------------------------------

GOOD_ROW = "p-0,1000,1024,1,500,,LS,Running,0,10,0"


def write(tmp_path: Path, *lines: str, name: str = "pods.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ("p-1,abc,1024,1,500,,LS,Running,0,10,0", "cpu_milli", "expected a number, got 'abc'"),
        ("p-1,1000,,1,500,,LS,Running,0,10,0", "memory_mib", "missing value"),
        ("p-1,1000,1024,-1,500,,LS,Running,0,10,0", "num_gpu", "must not be negative"),
        ("p-1,1000,1024,1,-5,,LS,Running,0,10,0", "gpu_milli", "must not be negative"),
        ("p-1,1000.5,1024,1,500,,LS,Running,0,10,0", "cpu_milli", "expected an integer"),
        ("p-1,1000,1024,2,500,,LS,Running,0,10,0", "gpu_milli", "whole GPUs"),
        ("p-1,1000,1024,1,500,,LS,Running,,10,0", "creation_time", "missing value"),
        ("p-1,1000,1024,1,500,,LS,Running,x,10,0", "creation_time", "expected a number"),
        ("p-1,1000,1024,1,500,,LS,Running,20,10,0", "deletion_time", "before creation_time"),
        ("p-1,1000,1024,1,inf,,LS,Running,0,10,0", "gpu_milli", "finite"),
    ],
)
def test_bad_pod_row_names_file_line_pod_and_field(tmp_path, row, field, problem):
    path = write(tmp_path, POD_HEADER, GOOD_ROW, row)
    with pytest.raises(kube.KubeObjectError) as info:
        read_openb_pods(path)
    message = str(info.value)
    assert str(path) in message
    assert "line 3" in message
    assert "'p-1'" in message
    assert f"field {field}" in message
    assert problem in message


def test_times_ignored_means_time_columns_unchecked(tmp_path):
    path = write(tmp_path, POD_HEADER, GOOD_ROW, "p-1,1000,1024,1,500,,LS,Running,x,10,0")
    assert len(read_openb_pods(path, times=False)) == 2


def test_missing_column(tmp_path):
    path = write(tmp_path, "name,cpu_milli,memory_mib,num_gpu", "p-0,1000,1024,1")
    with pytest.raises(kube.KubeObjectError, match=r"line 1.*field gpu_milli: missing column\(s\) gpu_milli"):
        read_openb_pods(path)
    nodes = write(tmp_path, "sn,cpu_milli,memory_mib,gpu", "n-0,1000,1024,1", name="nodes.csv")
    with pytest.raises(kube.KubeObjectError, match=r"nodes\.csv, line 1.*field model"):
        read_openb_nodes(nodes)


def test_short_row_and_missing_name(tmp_path):
    path = write(tmp_path, POD_HEADER, GOOD_ROW, "p-1,1000,1024")
    with pytest.raises(kube.KubeObjectError, match=r"line 3: pod 'p-1': has 3 fields, the header has 11"):
        read_openb_pods(path)
    path = write(tmp_path, POD_HEADER, ",1000,1024,1,500,,LS,Running,0,10,0")
    with pytest.raises(kube.KubeObjectError, match=r"line 2: field name: missing value"):
        read_openb_pods(path)


def test_bad_node_rows(tmp_path):
    header = ",".join(NODE_COLUMNS)
    path = write(tmp_path, header, "n-0,32000,1024,2,T4", "n-1,32000,1024,two,T4", name="nodes.csv")
    with pytest.raises(kube.KubeObjectError) as info:
        read_openb_nodes(path)
    assert all(s in str(info.value) for s in (str(path), "line 3", "node 'n-1'", "field gpu", "'two'"))
    path = write(tmp_path, header, "n-0,32000,1024,2,T4", "n-0,32000,1024,2,T4", name="nodes.csv")
    with pytest.raises(kube.KubeObjectError, match=r"line 3: node 'n-0': field sn: duplicate node name"):
        read_openb_nodes(path)


def test_missing_or_empty_file(tmp_path):
    with pytest.raises(
        kube.KubeObjectError, match=r"absent\.csv: openb pod list not found: looked for .*absent\.csv\.gz"
    ):
        read_openb_pods(tmp_path / "absent.csv")
    with pytest.raises(kube.KubeObjectError, match="empty"):
        read_openb_pods(write(tmp_path, ""))
    empty = read_openb_pods(write(tmp_path, POD_HEADER))
    assert len(empty) == 0


# --- the real trace (../shared/data) -----------------------------------------------------------------------------


def test_real_gpu_node_list():
    cluster = read_openb_cluster(openb_file("openb_node_list_gpu_node.csv"))
    nodes = cluster.nodes
    assert len(nodes) == 1213
    assert sum(n.allocatable.get(GPU_RESOURCE, 0) for n in nodes) == 6212
    assert sum(n.allocatable["cpu"] for n in nodes) == 107_018_000
    assert all(n.allowed_pods == 1001 for n in nodes)
    shapes = collections.Counter((n.labels[GPU_MODEL_LABEL], n.allocatable[GPU_RESOURCE]) for n in nodes)
    assert shapes == {
        ("G2", 8): 549,
        ("T4", 2): 387,
        ("T4", 4): 17,
        ("P100", 1): 3,
        ("P100", 2): 131,
        ("V100M16", 1): 19,
        ("V100M16", 4): 28,
        ("V100M16", 8): 8,
        ("V100M32", 4): 9,
        ("V100M32", 8): 21,
        ("G3", 8): 39,
        ("A10", 1): 2,
    }


def test_real_all_node_list_has_cpu_only_nodes():
    nodes = read_openb_nodes(openb_file("openb_node_list_all_node.csv"))
    assert len(nodes) == 1523
    cpu_only = [n for n in nodes if GPU_RESOURCE not in n["status"]["allocatable"]]
    assert len(cpu_only) == 310
    assert all(GPU_MODEL_LABEL not in n["metadata"]["labels"] for n in cpu_only)


def test_real_default_pods():
    w = read_openb_pods(openb_file("openb_pod_list_default.csv"))
    assert len(w) == 8152
    assert w.names == sorted(w.names) and len(set(w.names)) == 8152
    assert int(w.gpu_count @ w.gpu_milli) == 6_086_800  # 98.0% of 6,212,000 (spec 2.1 step 5)
    assert set(w.gpu_count.tolist()) == {0, 1, 2, 4, 8}
    assert np.all(w.gpu_milli[w.gpu_count > 1] == 1000)
    assert w.requests["cpu"].min() >= 1000
    assert np.all(w.duration >= 0)
    assert len(w.templates) == 1  # no gpu_spec in the default list


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("openb_pod_list_cpu050.csv", 7439),
        ("openb_pod_list_gpushare40.csv", 8152),
        ("openb_pod_list_gpuspec10.csv", 8152),
        ("openb_pod_list_multigpu20.csv", 8324),
    ],
)
def test_real_variants(name, rows):
    w = read_openb_pods(openb_file(name))
    assert len(w) == rows
    if "multigpu" in name:
        assert np.all(w.arrival == 0) and np.all(np.isinf(w.duration))
    if "gpuspec" in name:
        assert len(w.templates) > 1
