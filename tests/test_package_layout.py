"""The repository root is the ``hanlin`` package: every subpackage must be declared, and
nothing may install under a generic top-level name such as ``agents`` or ``tools``."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_PACKAGES = {"tests", "benchmarks", "examples", "docs", "scripts", "build", "dist"}


def declared() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["packages"]


def test_every_subpackage_is_declared_under_hanlin() -> None:
    found = {"hanlin"}
    for init in ROOT.rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts and (rel.parts[0] in NOT_PACKAGES or rel.parts[0].startswith(".")):
            continue
        found.add(".".join(("hanlin", *rel.parts)))
    assert found == set(declared())


def test_no_generic_top_level_names() -> None:
    assert all(name == "hanlin" or name.startswith("hanlin.") for name in declared())
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["package-dir"] == {"hanlin": "."}
