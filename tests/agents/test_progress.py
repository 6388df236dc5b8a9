"""What a long run tells its user: log lines where stdout is not a terminal, a bar over the whole run on one,
"resuming from step N of M", errors that name the --set that caused them, and no run directory left behind
by a run whose inputs are wrong."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
import yaml

from podgym.agents.commands import evaluate
from podgym.agents.commands import train
from podgym.agents.progress import CountProgress, TrainingProgress

TINY = (
    "eval.every=100000",
    "eval.episodes=1",
    "overrides.simulation.horizon=900",
    "hyperparameters.n_steps=64",
    "hyperparameters.batch_size=64",
    "n_envs=2",
)


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_log_lines_every_interval_with_steps_rate_and_latest_eval():
    stream, clock, latest = io.StringIO(), Clock(), {"value": None}
    cb = TrainingProgress(10_000, 0, lambda: latest["value"], stream=stream, every_s=30, bar=False, clock=clock)
    cb.model = SimpleNamespace(num_timesteps=0)
    cb._on_training_start()
    for steps, t in ((1000, 110.0), (2000, 130.0), (4000, 150.0), (8000, 170.0)):
        cb.model.num_timesteps, clock.t = steps, t
        if steps == 8000:
            latest["value"] = 0.6875
        cb._on_step()
    cb.model.num_timesteps, clock.t = 10_000, 175.0
    cb._on_training_end()
    assert stream.getvalue().splitlines() == [
        "step 2,000 of 10,000 (20.0%), 67 steps/s, no evaluation yet",  # 2000 steps in 30 s
        "step 8,000 of 10,000 (80.0%), 150 steps/s, latest eval return 0.6875",  # 6000 in 40 s
        "step 10,000 of 10,000 (100.0%), 400 steps/s, latest eval return 0.6875",  # the end, whenever it comes
    ]


def test_work_items_are_counted_in_lines_where_there_is_no_terminal():
    stream, clock = io.StringIO(), Clock()
    with CountProgress(10, "evaluate", stream=stream, every_s=30, bar=False, clock=clock) as progress:
        for t in (105.0, 131.0, 140.0, 161.0, 170.0):
            clock.t = t
            progress.update(2)
    assert stream.getvalue().splitlines() == [
        "evaluate: 4 of 10 runs done (0.13 runs/s)",  # 31 s after the start
        "evaluate: 8 of 10 runs done (0.13 runs/s)",  # 30 s after that line
        "evaluate: 10 of 10 runs done (0.14 runs/s)",  # the end
    ]


def test_the_bar_counts_the_whole_run_from_where_it_resumes():
    stream = io.StringIO()
    cb = TrainingProgress(1000, 600, stream=stream, bar=True)
    cb.model = SimpleNamespace(num_timesteps=600)
    cb._on_training_start()
    assert cb._bar.total == 1000 and cb._bar.n == 600
    cb.model.num_timesteps = 700
    cb._on_step()
    assert cb._bar.n == 700
    cb._on_training_end()
    assert "700/1000" in stream.getvalue()


def test_a_plain_stdout_gets_lines_and_resume_says_where_it_starts(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train.main([*sets(*TINY, "total_timesteps=128"), "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "step 128 of 128 (100.0%)" in out  # captured stdout is not a terminal: lines, not a bar
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["total_timesteps"] = 256
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    assert train.main(["--resume", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"resuming from step 128 of 256 ({run_dir})" in out
    assert "step 256 of 256 (100.0%)" in out


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("total_timestep=5", ["--set total_timestep=5", "unknown field 'total_timestep'"]),
        ("hyperparameters.n_steps=0", ["--set hyperparameters.n_steps=0", "field hyperparameters.n_steps"]),
        ("overrides.simulation.horizn=60", ["--set overrides.simulation.horizn=60", "unknown field 'horizn'"]),
        ("eval.baselines=[kube-default, nope]", ["--set eval.baselines=", "eval.baselines[1]", "'nope'"]),
    ],
)
def test_a_bad_set_is_named_and_nothing_is_written(tmp_path, capsys, item, words):
    runs = tmp_path / "runs"
    assert train.main([*sets(item, f"runs_dir={runs}"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err
    assert "default__maskable_ppo.yaml" not in err  # the file is not to blame
    assert not runs.exists()


def test_a_bad_value_in_the_file_still_names_the_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("n_envs: 0\n")
    assert train.main(["--config", str(path), "--set", f"runs_dir={tmp_path / 'runs'}", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "--set" not in err
    assert not (tmp_path / "runs").exists()


def test_evaluate_reports_a_bad_policy_before_asking_for_scenarios(tmp_path, capsys):
    assert evaluate.main(["--policies", "best-fit", "no-such-policy", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unknown policy 'no-such-policy'" in err and "policies[1]" in err and "--scenarios" not in err
    assert not (tmp_path / "out").exists()
    assert evaluate.main(["--policies", "best-fit"]) == 2
    assert "--scenarios" in capsys.readouterr().err
