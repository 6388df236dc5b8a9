"""The openb trace ships inside the package: byte-for-byte the published files, found by default, overridable
with $PODGYM_DATA, and a missing file is an error that says what to do."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from podgym.envs.data import EMBEDDED_DATA_DIR, data_dir, open_data_file, resolve_data_file
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.scenario import load_and_build
from podgym.envs.workload.openb import read_openb_cluster, read_openb_pods

README = EMBEDDED_DATA_DIR / "openb" / "README.md"
CSV = EMBEDDED_DATA_DIR / "openb" / "csv"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "openb"


def _published_hashes() -> dict[str, str]:
    return dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.csv)$", README.read_text(), flags=re.MULTILINE)
    )


def test_embedded_files_are_the_published_trace_byte_for_byte():
    hashes = _published_hashes()
    assert len(hashes) == 15
    assert sorted(p.name for p in CSV.glob("*.csv.gz")) == sorted(f"{n}.gz" for n in hashes)
    for name, digest in hashes.items():
        raw = (CSV / f"{name}.gz").read_bytes()
        assert raw[4:8] == b"\0\0\0\0", f"{name}.gz carries a timestamp (compress with gzip -n)"
        assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == digest, name


def test_readme_gives_provenance_licence_and_citation():
    text = README.read_text()
    for needle in ("hkust-adsl/kubernetes-scheduler-simulator", "Apache", "@inproceedings", "PODGYM_DATA"):
        assert needle in text


def test_default_data_dir_is_the_embedded_one(monkeypatch):
    monkeypatch.delenv("PODGYM_DATA", raising=False)
    assert data_dir() == EMBEDDED_DATA_DIR
    assert resolve_data_file(CSV / "openb_node_list_gpu_node.csv") == CSV / "openb_node_list_gpu_node.csv.gz"
    cluster = read_openb_cluster(CSV / "openb_node_list_gpu_node.csv")
    assert len(cluster.nodes) == 1213


def test_podgym_data_overrides_with_plain_or_compressed_files(monkeypatch, tmp_path):
    csv_dir = tmp_path / "openb" / "csv"
    csv_dir.mkdir(parents=True)
    shutil.copy(SAMPLE / "nodes.csv", csv_dir / "openb_node_list_gpu_node.csv")  # plain
    (csv_dir / "openb_pod_list_default.csv.gz").write_bytes(gzip.compress((SAMPLE / "pods.csv").read_bytes()))
    monkeypatch.setenv("PODGYM_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    built = load_and_build("openb", seed=0)
    assert len(built.cluster.nodes) == len(read_openb_cluster(SAMPLE / "nodes.csv").nodes)
    with open_data_file(csv_dir / "openb_pod_list_default.csv") as f:
        assert f.read() == (SAMPLE / "pods.csv").read_text(encoding="utf-8-sig")


def test_a_missing_file_says_which_where_and_how_to_point_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setenv("PODGYM_DATA", str(tmp_path))
    with pytest.raises(KubeObjectError) as err:
        load_and_build("openb-small", seed=0)
    msg = str(err.value)
    missing = tmp_path / "openb" / "csv" / "openb_node_list_gpu_node.csv"
    assert str(missing) in msg and "openb_node_list_gpu_node.csv.gz" in msg
    assert f"$PODGYM_DATA is set to {tmp_path}" in msg and "Set PODGYM_DATA to a directory" in msg
    assert "cluster.openb_nodes" in msg
    monkeypatch.delenv("PODGYM_DATA")
    with pytest.raises(KubeObjectError, match="reads its embedded data at") as err:
        read_openb_pods(CSV / "no_such_list.csv")
    assert "no_such_list.csv" in str(err.value)
