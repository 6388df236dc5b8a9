"""Imports run one way (DESIGN rule 8): scripts -> plugin/ and agents/ -> policies/ -> envs/.

A static check over every import statement (module level and inside functions), and a run that imports all of
envs/ with the training stack blocked. The folders install as `podgym.envs`, `podgym.agents`, ...; an import of
`podgym.X` counts as an import of X.
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


def root(module: str) -> str:
    """The layer a module belongs to: its top-level name, or X for `podgym.X...`."""
    parts = module.split(".")
    return parts[1] if parts[0] == "podgym" and len(parts) > 1 else parts[0]


def imported_roots(path: Path) -> set[str]:
    """Layers (see `root`) of the modules `path` imports anywhere (relative imports excluded)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(root(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(root(node.module))
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_downwards(package):
    bad = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_every_import_of_the_project_goes_through_the_podgym_namespace():
    """From the repository root `import envs` would also work, as a second copy of every module beside
    podgym.envs; nothing may rely on it, because an installed podgym has only the namespace."""
    ours = set(FORBIDDEN)
    bad = {}
    for path in sorted(ROOT.rglob("*.py")):
        if {".venv", ".git", "mutants"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            bad.update({f"{path.relative_to(ROOT)}:{node.lineno}": n for n in names if n.split(".")[0] in ours})
    assert bad == {}


def test_the_checker_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from podgym.agents.learned import x\n    import torch.nn\n    import agents.io\n")
    assert imported_roots(f) == {"agents", "torch"}


def test_every_envs_module_imports_without_the_training_stack():
    modules = sorted(
        "podgym." + ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "envs").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"BLOCK = {sorted(FORBIDDEN['envs'])!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        parts = name.split('.')\n"
        "        if parts[0] in BLOCK or parts[:1] == ['podgym'] and parts[1:2] and parts[1] in BLOCK:\n"
        "            raise ImportError('envs/ must not import ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import podgym.envs.env, gymnasium\n"
        "env = gymnasium.make('podgym/PodScheduling-v0', scenario='default', simulation={'horizon': 600})\n"
        "env.reset(seed=0)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
