"""Imports run one way (DESIGN rule 8): scripts -> plugin/ and agents/ -> policies/ -> envs/.

A static check over every import statement (module level and inside functions), and a run that imports all of
envs/ with the training stack blocked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAINING_STACK = {"torch", "stable_baselines3", "sb3_contrib"}
# package -> top-level modules it must never import
FORBIDDEN = {
    "envs": TRAINING_STACK | {"agents", "plugin", "policies"},
    "policies": TRAINING_STACK | {"agents", "plugin"},
    "plugin": TRAINING_STACK | {"agents"},
    "agents": {"plugin"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level module names `path` imports anywhere (relative imports excluded)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_downwards(package):
    bad = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_checker_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from agents.learned import x\n    import torch.nn\n")
    assert imported_roots(f) == {"agents", "torch"}


def test_every_envs_module_imports_without_the_training_stack():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "envs").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"BLOCK = {sorted(FORBIDDEN['envs'])!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCK:\n"
        "            raise ImportError('envs/ must not import ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import envs.env, gymnasium\n"
        "env = gymnasium.make('podgym/PodScheduling-v0', scenario='default', simulation={'horizon': 600})\n"
        "env.reset(seed=0)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
