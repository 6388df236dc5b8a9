"""The shipped training configs (configs/train/*.yaml): each loads, names a scenario that builds and a known
expert, and keeps its episodes off the evaluation seeds the docs report (100-109); the ha-services config
trains (cloning kube-default, then PPO) on the Python engine, and evaluate.py runs the result on ha-services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podgym.agents.commands import train
from podgym.agents.evaluation import run_cell
from podgym.agents.training import load_train_config
from podgym.envs.env import PodSchedulingEnv
from podgym.envs.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs" / "train").glob("*.yaml"))
EVALUATION_SEEDS = set(range(100, 110))  # docs/results.md and docs/learned.md evaluate on these


def test_the_configs_are_found():
    assert REPO / "configs" / "train" / "ha-services__maskable_ppo.yaml" in CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_a_shipped_config_loads_and_keeps_off_the_evaluation_seeds(path):
    cfg = load_train_config(path)
    load_scenario(cfg.scenario, dict(cfg.overrides))
    # Training episodes start from reset(seed=seed + i) per env, then draw their own seeds from that stream.
    used = set(range(cfg.seed, cfg.seed + cfg.n_envs))
    used |= set(range(cfg.eval.first_seed, cfg.eval.first_seed + cfg.eval.episodes))
    if cfg.pretrain is not None:
        dagger = cfg.pretrain.dagger.rounds * cfg.pretrain.dagger.episodes if cfg.pretrain.dagger else 0
        used |= set(range(cfg.pretrain.first_seed, cfg.pretrain.first_seed + cfg.pretrain.episodes + dagger))
    assert not used & EVALUATION_SEEDS, f"{path.name} trains or selects on evaluation seeds {used & EVALUATION_SEEDS}"


def test_the_ha_services_config_trains_on_the_python_engine_and_evaluates(tmp_path):
    """A few steps of the shipped config, cut short: cloning kube-default, DAgger, PPO, the periodic evaluation."""
    path = REPO / "configs" / "train" / "ha-services__maskable_ppo.yaml"
    env = PodSchedulingEnv("ha-services")
    env.reset(seed=0)
    assert env.engine_name == "python"  # spread, anti-affinity, failures and preemption: not in the kernels
    run_dir = tmp_path / "run"
    small = [
        "total_timesteps=128",
        "n_envs=2",
        "hyperparameters.n_steps=64",
        "hyperparameters.batch_size=64",
        "pretrain.episodes=1",
        "pretrain.epochs=1",
        "pretrain.dagger.episodes=1",
        "eval.episodes=1",
        "eval.baselines=[kube-default]",
        "overrides.simulation.horizon=3600",
    ]
    argv = ["--config", str(path), *(arg for item in small for arg in ("--set", item)), "--run-dir", str(run_dir)]
    assert train.main([*argv, "--no-progress"]) == 0
    pretrain = json.loads((run_dir / "pretrain.json").read_text())
    assert pretrain["expert"] == "kube-default"
    assert [phase["states"] > 0 for phase in pretrain["phases"]] == [True, True]  # cloning, one DAgger round
    best = json.loads((run_dir / "best_eval.json").read_text())
    assert set(best["baselines"]) == {"kube-default"}
    assert (run_dir / "final_model.zip").is_file()
    cell = run_cell(str(run_dir), "ha-services", 100)
    assert cell["policy_kind"] == "learned" and cell["services"] > 0
    assert 0.0 < cell["availability_mean"] <= 1.0
