"""The installed package: one import namespace (`podgym.*`) over the repository's folders, console scripts that
resolve, and a wheel that adds nothing else to a user's site-packages."""

from __future__ import annotations

import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
SCRIPTS = PYPROJECT["project"]["scripts"]


def packages_on_disk() -> set[str]:
    """`podgym.<dotted folder>` for every folder with an __init__.py under the mapped top-level folders."""
    found = set()
    for namespace, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([namespace, *rel.parts]))
    return found


def test_every_package_folder_is_listed_and_every_listed_package_exists():
    listed = set(SETUPTOOLS["packages"])
    # podgym.configs holds YAML only (package data), so it has no __init__.py.
    assert packages_on_disk() | {"podgym.configs"} == listed


def test_each_mapped_folder_is_a_top_level_folder_of_the_repository():
    assert SETUPTOOLS["package-dir"] == {
        "podgym.envs": "envs",
        "podgym.agents": "agents",
        "podgym.plugin": "plugin",
        "podgym.policies": "policies",
        "podgym.configs": "configs",
    }


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_console_script_names_a_callable_main(script):
    module, _, attr = SCRIPTS[script].partition(":")
    assert module.startswith("podgym.")
    assert callable(getattr(importlib.import_module(module), attr))


def test_the_entry_points_the_readme_promises_are_installed():
    expected = {"train", "evaluate", "export", "simulate", "explain", "serve", "scheduler"}
    assert {f"podgym-{name}" for name in expected} <= set(SCRIPTS)


def test_the_root_scripts_run_the_installed_commands():
    for name in ("train", "evaluate", "export"):
        out = subprocess.run(
            [sys.executable, str(ROOT / f"{name}.py"), "--help"], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        assert "usage:" in out.stdout


def test_the_wheel_installs_podgym_only(tmp_path):
    """No top-level `envs`, `agents`, `plugin` or `policies` in site-packages: everything sits under podgym/."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("podgym-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"podgym"}
    assert "podgym/envs/env.py" in names
    assert "podgym/plugin/serve.py" in names
    assert "podgym/agents/commands/train.py" in names
    # what the commands read at run time ships too: scenarios, the openb trace, the explain samples
    assert "podgym/configs/scenarios/default.yaml" in names
    assert any(n.startswith("podgym/envs/data/openb/csv/") and n.endswith(".csv.gz") for n in names)
    assert "podgym/envs/kube/samples/pod.yaml" in names
    assert not any("__init__.py" in n and n.count("/") == 1 for n in names), "podgym itself is a namespace package"
