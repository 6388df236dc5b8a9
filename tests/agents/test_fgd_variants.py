"""docs/fgd_variants.py, the FGD variants weighed as experts: at FGD's own scale a variant is FGD, and a key that
breaks FGD's ties never overrides its score."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import podgym.agents.fgd_experiment as experiment
from podgym.envs.fragmentation import typical_pods
from podgym.envs.simulator import SimulationOptions, Simulator
from podgym.envs.workload.openb import read_openb_cluster, read_openb_pods
from podgym.policies.fgd import FGDPolicy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "openb"


def load_tool():
    spec = importlib.util.spec_from_file_location("fgd_variants", ROOT / "docs" / "fgd_variants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fgd_at_its_own_scale_places_as_fgd(monkeypatch):
    tool = load_tool()
    for trace in ("pods.csv", "pods_multigpu.csv"):
        fgd = experiment.run_one(SAMPLE / "nodes.csv", SAMPLE / trace, "fgd", 7).allocation
        monkeypatch.setattr(experiment, "experiment_heuristic", lambda _, t: tool.make_variant("scale=1000", t))
        assert experiment.run_one(SAMPLE / "nodes.csv", SAMPLE / trace, "fgd", 7).allocation == fgd
        monkeypatch.undo()
    assert tool.make_variant("lookahead=4,6", None).depth == 6
    for bad in ("then", "then=sideways", "scale=0", "scale=x", "typical=1.5", "lookahead=3", "fgd2"):
        with pytest.raises(SystemExit, match="unknown variant"):
            tool.make_variant(bad, None)


@pytest.mark.parametrize("key", ["used", "least-idle-gpu", "most-gpus", "least-cpu", "lowest-frag"])
def test_a_tie_key_orders_only_fgds_ties(key):
    tool = load_tool()
    cluster = read_openb_cluster(SAMPLE / "nodes.csv")
    pods = read_openb_pods(SAMPLE / "pods.csv", times=False)
    typical = typical_pods(pods)
    sim = Simulator(cluster, pods, SimulationOptions(departures=False), experiment.experiment_profile(), seed=0)
    fgd, variant = FGDPolicy(typical), tool.make_variant(f"then={key}", typical)
    for policy in (fgd, variant):
        policy.reset(sim)
    nodes = np.arange(sim.cluster.num_nodes)
    for i in range(min(len(pods), 20)):
        pod = sim.cluster.pod_request(pods, i)
        got = variant.score(sim.cluster, pod, nodes)
        assert np.array_equal(got // tool.TIE_SPAN, fgd.score(sim.cluster, pod, nodes)), (key, i)
        assert (got % tool.TIE_SPAN).max() < tool.TIE_SPAN
