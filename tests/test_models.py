"""The policies shipped under models/: each loads under the current feature version and schedules as its
policy.json says it was evaluated (briefly: two episodes, against the heuristics on the same seeds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from podgym.agents.evaluation import run_cell
from podgym.envs.features import FEATURE_VERSION, NODE_FEATURES, POD_FEATURES
from podgym.policies.onnx import OnnxPolicy

MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = sorted(p.parent for p in MODELS.glob("*/policy.json"))


def test_the_default_scenario_policy_is_shipped():
    assert MODELS / "default" in SHIPPED


@pytest.mark.parametrize("model", SHIPPED, ids=lambda p: p.name)
def test_shipped_model_loads_under_the_current_features_with_its_provenance(model):
    meta = json.loads((model / "policy.json").read_text())
    assert meta["features"]["version"] == FEATURE_VERSION
    assert meta["features"]["node"] == [f.name for f in NODE_FEATURES]
    assert meta["features"]["pod"] == [f.name for f in POD_FEATURES]
    provenance = meta["provenance"]
    for key in ("config", "git_commit", "training_seeds", "command", "evaluation"):
        assert provenance[key], key
    policy = OnnxPolicy(model / "policy.onnx")
    assert policy.uses_parts
    size = sum(p.stat().st_size for p in model.iterdir())
    assert size < 1_000_000  # small enough to commit


def test_shipped_default_policy_schedules_like_the_best_heuristics():
    seeds = (7, 8)  # neither a training nor an evaluation seed of the shipped run
    objective = {
        ref: np.mean([run_cell(ref, "default", s)["objective"] for s in seeds])
        for ref in (str(MODELS / "default" / "policy.onnx"), "kube-default", "random")
    }
    learned = objective[str(MODELS / "default" / "policy.onnx")]
    assert learned > objective["random"] + 0.5 * (objective["kube-default"] - objective["random"])
    assert learned > objective["kube-default"] - 0.01
