"""Training learned schedulers with stable-baselines3: configuration, run directories, checkpoints, resume."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch as th
import yaml
from pydantic import Field, ValidationError
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from podgym.agents.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from podgym.agents.pretrain import PretrainConfig, pretrain
from podgym.agents.progress import TrainingProgress
from podgym.agents.rollout import evaluate_actor, heuristic_actor
from podgym.agents.sb3_policy import MaskableNodeScoringPolicy, NodeScoringPolicy, greedy_action
from podgym.agents.vec_env import SB3VecEnv
from podgym.envs.env import PodSchedulingEnv
from podgym.envs.kube.errors import ConfigError, from_validation_error
from podgym.envs.scenario import load_scenario, set_override
from podgym.envs.vector import PodSchedulingVectorEnv
from podgym.envs.workload._fields import StrictModel
from podgym.policies import make_policy, scenario_policy

ALGOS = ("maskable_ppo", "ppo", "a2c")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "configs" / "train" / "default__maskable_ppo.yaml"


class Hyperparameters(StrictModel):
    learning_rate: float = Field(default=3e-4, gt=0)
    n_steps: int = Field(default=256, ge=1, description="rollout steps per environment per update")
    batch_size: int = Field(default=256, ge=1, description="PPO minibatch size")
    n_epochs: int = Field(default=4, ge=1, description="PPO epochs per update")
    gamma: float = Field(default=0.99, gt=0, le=1)
    gae_lambda: float = Field(default=0.95, gt=0, le=1)
    ent_coef: float = Field(default=0.01, ge=0)
    vf_coef: float = Field(default=0.5, ge=0)
    clip_range: float = Field(default=0.2, gt=0)
    max_grad_norm: float = Field(default=0.5, gt=0)


class EvalConfig(StrictModel):
    every: int = Field(default=50_000, ge=1, description="timesteps between evaluations")
    episodes: int = Field(default=3, ge=1)
    first_seed: int = Field(default=10_000, description="evaluation seeds: first_seed, first_seed+1, ...")
    baselines: list[str] = Field(default_factory=lambda: ["random", "round-robin", "kube-default"])


class TrainConfig(StrictModel):
    """configs/train/*.yaml."""

    scenario: str = "default"
    overrides: dict[str, Any] = Field(default_factory=dict, description="scenario fields, dotted keys")
    algo: Literal["maskable_ppo", "ppo", "a2c"] = "maskable_ppo"
    seed: int = 0
    total_timesteps: int = Field(default=200_000, ge=1, description="reinforcement-learning steps (after pretrain)")
    n_envs: int = Field(default=4, ge=1)
    hidden: int = Field(default=64, ge=4, description="width of the node-scoring network")
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    pretrain: PretrainConfig | None = Field(default=None, description="behaviour cloning of a heuristic first")
    checkpoint_every: int = Field(default=20_000, ge=1)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    runs_dir: str = "runs"
    torch_threads: int = Field(default=1, ge=1)


def warm_start(model, cfg: TrainConfig, run_dir: Path) -> None:
    """Behaviour cloning (and DAgger) of `cfg.pretrain.expert` into the model's network and critic; the report
    goes to run_dir/pretrain.json."""
    assert cfg.pretrain is not None
    overrides = {**cfg.overrides, "env.engine": "python"}  # the expert reads the simulator
    env = PodSchedulingEnv(cfg.scenario, overrides=overrides)
    policy = model.policy
    started = time.time()
    report = pretrain(policy.scoring_net, policy.value_net, cfg.pretrain, env, cfg.hyperparameters.gamma, cfg.seed)
    report["seconds"] = round(time.time() - started, 1)
    atomic_write_json(run_dir / "pretrain.json", report)


def load_train_config(path: str | Path | None, sets: dict[str, Any] | None = None) -> TrainConfig:
    """Read a training YAML (None: the default config) with `key=value` overrides; errors name file and field."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        with path.open() as stream:
            data = yaml.safe_load(stream) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("a training config must be a mapping", source=str(path))
    for key, value in (sets or {}).items():
        set_override(data, key, value)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, obj="TrainConfig", source=str(path), error=ConfigError) from None


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("podgym", "numpy", "torch", "gymnasium", "stable-baselines3", "sb3-contrib", "pydantic"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def make_env_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    return {"scenario": cfg.scenario, "overrides": dict(cfg.overrides)}


def build_model(cfg: TrainConfig, venv: SB3VecEnv, tensorboard_log: str | None):
    """The SB3 algorithm of `cfg` with the node-scoring policy."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import A2C, PPO

    hp = cfg.hyperparameters
    common = {
        "learning_rate": hp.learning_rate,
        "n_steps": hp.n_steps,
        "gamma": hp.gamma,
        "gae_lambda": hp.gae_lambda,
        "ent_coef": hp.ent_coef,
        "vf_coef": hp.vf_coef,
        "max_grad_norm": hp.max_grad_norm,
        "seed": cfg.seed,
        "verbose": 0,
        "tensorboard_log": tensorboard_log,
        "device": "cpu",
        "policy_kwargs": {"hidden": cfg.hidden},
    }
    if cfg.algo == "maskable_ppo":
        return MaskablePPO(
            MaskableNodeScoringPolicy,
            venv,
            batch_size=hp.batch_size,
            n_epochs=hp.n_epochs,
            clip_range=hp.clip_range,
            **common,
        )
    if cfg.algo == "ppo":
        return PPO(
            NodeScoringPolicy, venv, batch_size=hp.batch_size, n_epochs=hp.n_epochs, clip_range=hp.clip_range, **common
        )
    return A2C(NodeScoringPolicy, venv, **common)


def algo_class(algo: str):
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import A2C, PPO

    return {"maskable_ppo": MaskablePPO, "ppo": PPO, "a2c": A2C}[algo]


def save_model_atomically(model, path: Path) -> None:
    """model.save into memory, then one atomic write: a crash never leaves a broken file."""
    import io

    buf = io.BytesIO()
    model.save(buf)
    atomic_write_bytes(path, buf.getvalue())


class SchedulingMetricsCallback(BaseCallback):
    """Logs the scheduling metrics of finished training episodes (allocation, pending, wait, fragmentation)."""

    KEYS = (
        "gpu_allocation_mean",
        "cpu_allocation_mean",
        "pending_pods_mean",
        "wait_mean_s",
        "gpu_fragmentation_mean",
        "pods_never_scheduled",
    )

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            metrics = info.get("metrics")
            if metrics:
                for k in self.KEYS:
                    self.logger.record_mean(f"scheduling/{k}", metrics[k])
        return True


class CheckpointAndEvalCallback(BaseCallback):
    """Atomic checkpoints every `checkpoint_every` steps; periodic evaluation against baselines; best model."""

    def __init__(self, run_dir: Path, cfg: TrainConfig):
        super().__init__()
        self.run_dir = run_dir
        self.cfg = cfg
        self.eval_env = PodSchedulingEnv(**make_env_kwargs(cfg))
        self.seeds = [cfg.eval.first_seed + i for i in range(cfg.eval.episodes)]
        self.best = -np.inf
        self.last_return: float | None = None  # the latest evaluation's mean return, for progress lines
        self._last_ckpt = 0
        self._last_eval = 0
        state = run_dir / "state.json"
        if state.exists():
            data = json.loads(state.read_text())
            best = data.get("best_return")
            self.best = -np.inf if best is None else best
        self.baselines = self._baselines()

    def _baselines(self) -> dict[str, float]:
        path = self.run_dir / "baselines.json"
        if path.exists():
            return json.loads(path.read_text())
        out = {}
        for name in self.cfg.eval.baselines:
            # kube-default is kube-scheduler with the scenario's own profile, as envs.simulate runs it
            policy = scenario_policy(name, self.eval_env.profile, self.eval_env.scenario.scheduler.sample_nodes)
            out[name] = evaluate_actor(self.eval_env, heuristic_actor(policy, 0), self.seeds)["return_mean"]
        atomic_write_json(path, out)
        return out

    def checkpoint(self) -> None:
        save_model_atomically(self.model, self.run_dir / "checkpoints" / "latest.zip")
        atomic_write_json(
            self.run_dir / "state.json",
            # JSON has no -Infinity: no evaluation yet is null.
            {
                "num_timesteps": int(self.model.num_timesteps),
                "best_return": float(self.best) if np.isfinite(self.best) else None,
            },
        )

    def evaluate(self, log: bool = True) -> float:
        """Evaluate the greedy policy, keep it as best_model.zip if it is the best so far; `log`: to the logger
        (False before learning starts, when the model has no logger yet)."""
        net = self.model.policy.scoring_net
        with_pending = self.eval_env.pending_action is not None
        result = evaluate_actor(self.eval_env, lambda env, obs: greedy_action(net, obs, with_pending), self.seeds)
        self.last_return = float(result["return_mean"])
        if log:
            self.logger.record("eval/return_mean", result["return_mean"])
            for name, value in self.baselines.items():
                self.logger.record(f"eval/baseline_{name}", value)
            for k in SchedulingMetricsCallback.KEYS:
                self.logger.record(f"eval/{k}", result["metrics"].get(k, 0.0))
        if result["return_mean"] > self.best:
            self.best = result["return_mean"]
            save_model_atomically(self.model, self.run_dir / "best_model.zip")
            atomic_write_json(
                self.run_dir / "best_eval.json",
                {"num_timesteps": int(self.model.num_timesteps), **result, "baselines": self.baselines},
            )
        return result["return_mean"]

    def _on_training_start(self) -> None:
        # A resumed run counts its intervals from where it restarted.
        self._last_ckpt = self._last_eval = int(self.model.num_timesteps)

    def _on_step(self) -> bool:
        t = self.model.num_timesteps
        if t - self._last_eval >= self.cfg.eval.every:
            self._last_eval = t
            self.evaluate()
        if t - self._last_ckpt >= self.cfg.checkpoint_every:
            self._last_ckpt = t
            self.checkpoint()
        return True

    def _on_training_end(self) -> None:
        self.evaluate()
        self.checkpoint()


def new_run_dir(cfg: TrainConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    scenario = Path(cfg.scenario).stem if cfg.scenario.endswith((".yaml", ".yml")) else cfg.scenario
    base = Path(cfg.runs_dir) / f"{scenario}__{cfg.algo}__{cfg.seed}__{stamp}"
    path, k = base, 1
    while path.exists():
        path, k = Path(f"{base}-{k}"), k + 1
    return path


def validate_inputs(cfg: TrainConfig) -> None:
    """Everything a run reads before it writes anything: the scenario with its overrides, the env they make, the
    evaluation baselines. A bad input is an error here, and no run directory is left behind."""
    load_scenario(cfg.scenario, dict(cfg.overrides))
    PodSchedulingEnv(**make_env_kwargs(cfg)).close()
    for i, name in enumerate(cfg.eval.baselines):
        try:
            make_policy(name)
        except ValueError as exc:
            raise ConfigError(str(exc), obj="TrainConfig", field=f"eval.baselines[{i}]") from None


def train(cfg: TrainConfig, run_dir: Path | None = None, resume: bool = False, progress_bar: bool = True) -> Path:
    """Train (or resume) and return the run directory.

    `progress_bar`: a bar over the whole run on a terminal, a log line every 30 s otherwise (agents.progress).
    """
    th.set_num_threads(cfg.torch_threads)
    validate_inputs(cfg)
    if run_dir is None:
        run_dir = new_run_dir(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(cfg.model_dump(), sort_keys=False))
        atomic_write_json(
            run_dir / "meta.json",
            {"seed": cfg.seed, "git_commit": git_commit(), "versions": package_versions(), "created": time.time()},
        )
    venv = SB3VecEnv(PodSchedulingVectorEnv(num_envs=cfg.n_envs, **make_env_kwargs(cfg)))
    venv.seed(cfg.seed)
    tb = str(run_dir / "tb")
    latest = run_dir / "checkpoints" / "latest.zip"
    if resume and latest.exists():
        model = algo_class(cfg.algo).load(latest, env=venv, tensorboard_log=tb, device="cpu")
    else:
        model = build_model(cfg, venv, tb)
    start = int(model.num_timesteps)
    remaining = cfg.total_timesteps - start
    if resume:
        print(f"resuming from step {start:,} of {cfg.total_timesteps:,} ({run_dir})", flush=True)
    checkpoints = CheckpointAndEvalCallback(run_dir, cfg)
    if cfg.pretrain is not None and not (resume and latest.exists()):
        warm_start(model, cfg, run_dir)
        checkpoints.model = model
        checkpoints.evaluate(log=False)  # the clone is the first candidate for best_model.zip
        checkpoints.checkpoint()
    callbacks = [SchedulingMetricsCallback(), checkpoints]
    if progress_bar:
        callbacks.append(TrainingProgress(cfg.total_timesteps, start, lambda: checkpoints.last_return))
    if remaining > 0:
        model.learn(remaining, callback=CallbackList(callbacks), tb_log_name="train", reset_num_timesteps=not resume)
    save_model_atomically(model, run_dir / "final_model.zip")
    venv.close()
    return run_dir


def load_run_config(run_dir: Path) -> TrainConfig:
    """The resolved config of a run directory."""
    path = run_dir / "config.yaml"
    if not path.exists():
        raise ConfigError("not a training run directory: config.yaml is missing", source=str(run_dir))
    return load_train_config(path)
