"""Test-session setup shared by every test module."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys

PACKAGES = ("envs", "agents", "plugin", "policies")


class _MutantTree(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Under mutmut, `podgym.X.Y` is the module `X.Y` of mutmut's mutated copy of the tree.

    mutmut copies the folders into ./mutants and names each mutant after the module its file path gives
    (`envs.rewards`); an installed podgym would import the original files as `podgym.envs.rewards` instead, and
    no mutant would ever run. One module object under both names keeps a single copy of each module.
    """

    def find_spec(self, name, path=None, target=None):
        parts = name.split(".")
        if len(parts) > 1 and parts[0] == "podgym" and parts[1] in PACKAGES:
            return importlib.util.spec_from_loader(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return importlib.import_module(spec.name.removeprefix("podgym."))

    def exec_module(self, module):
        pass  # already executed under its short name


if "MUTANT_UNDER_TEST" in os.environ:
    sys.meta_path.insert(0, _MutantTree())
