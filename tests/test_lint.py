"""The linters the project promises (configured in pyproject.toml): ruff on every run, mypy
as a slow test and in .ci/run."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -c constraints.txt '.[test]')")
    return [found]


def test_ruff_is_clean():
    """The package, the tests and the benchmarks (about a tenth of a second)."""
    r = subprocess.run(_tool("ruff") + ["check", "--no-cache", "."], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    r = subprocess.run(_tool("mypy") + ["--no-incremental"], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_ignores_no_module():
    """Every module is type-checked: no override switches mypy's errors off."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    ignored = [o["module"] for o in config.get("overrides", []) if o.get("ignore_errors")]
    assert not ignored and not config.get("ignore_errors")
