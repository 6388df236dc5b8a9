"""Several training seeds (train.py --seeds, agents.multiseed) and the interquartile mean across them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch as th
import yaml

from podgym.agents.commands import train
from podgym.agents.evaluation import iqm, iqm_ci
from tests.agents.test_training import SMALL, policy_state, sets


def test_iqm_drops_the_outer_quarters():
    assert iqm([1, 2, 3, 4]) == 2.5
    assert iqm([0, 1, 2, 3, 4, 5, 6, 1000]) == pytest.approx(3.5)  # 0, 1 and 6, 1000 dropped
    assert iqm([7]) == 7
    point, lo, hi = iqm_ci(np.array([[1.0, 1.1], [2.0, 2.1], [3.0, 3.1], [9.0, 9.1]]), np.random.default_rng(0))
    assert lo <= point <= hi and lo < hi
    assert iqm_ci(np.array([[1.0, 2.0]]), np.random.default_rng(0)) == (1.5, 1.5, 1.5)


def test_train_seeds_in_processes_then_resume(tmp_path, capsys):
    root = tmp_path / "seeds"
    argv = ["--seeds", "3", "4", "--run-dir", str(root), "--no-progress"]
    assert train.main([*argv, *sets(*SMALL, "total_timesteps=256", "eval.episodes=2")]) == 0
    out = capsys.readouterr().out
    assert "IQM over 2 seeds" in out
    summary = json.loads((root / "seeds.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == [3, 4]
    for run in summary["runs"]:
        config = yaml.safe_load((root / f"seed-{run['seed']}" / "config.yaml").read_text())
        assert config["seed"] == run["seed"] and len(run["returns"]) == 2
    every = [v for r in summary["runs"] for v in r["returns"]]
    assert min(every) <= summary["iqm_return"] <= max(every)
    # The same directory again without --resume is refused; with it, every run continues (here: already done).
    assert train.main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert train.main([*argv, "--resume"]) == 0
    assert json.loads((root / "seeds.json").read_text())["iqm_return"] == summary["iqm_return"]


def test_seeds_need_a_run_dir(capsys):
    assert train.main(["--seeds", "0", "1", "--no-progress"]) == 2
    assert "--run-dir" in capsys.readouterr().err


def test_seeds_on_ray_give_the_weights_of_local_processes(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra podgym[ray]")
    argv = [*sets(*SMALL, "total_timesteps=128", "eval.episodes=1"), "--seeds", "5", "--no-progress"]
    try:
        assert train.main([*argv, "--run-dir", str(tmp_path / "ray"), "--ray", "local"]) == 0
    finally:
        ray.shutdown()
    assert train.main([*argv, "--run-dir", str(tmp_path / "local")]) == 0
    on_ray, local = (policy_state(tmp_path / d / "seed-5" / "final_model.zip") for d in ("ray", "local"))
    assert on_ray.keys() == local.keys()
    for key in local:
        assert th.equal(on_ray[key], local[key]), key
