"""The sandbox runs the host's interpreter even when its virtual environment lives under the
host's /tmp, which the sandbox replaces with a private tmpfs."""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = f"""
import asyncio, importlib.util, sys
spec = importlib.util.spec_from_file_location(
    "hanlin", {str(ROOT / "__init__.py")!r}, submodule_search_locations=[{str(ROOT)!r}])
module = importlib.util.module_from_spec(spec)
sys.modules["hanlin"] = module
spec.loader.exec_module(module)
from hanlin.sandbox import run_python
result = asyncio.run(run_python("import sys; print(6 * 7, sys.prefix)"))
print(result.exit_code, result.stdout.strip(), result.stderr.strip())
"""


def test_interpreter_from_a_venv_under_tmp(tmp_path: Path) -> None:
    assert str(tmp_path).startswith("/tmp/"), "pytest's tmp_path is the case under test"
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    inner_site = next((venv / "lib").glob("python3*/site-packages"))
    # The new venv imports this environment's packages (pydantic, pyseccomp, ...) from here.
    (inner_site / "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CHECK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"0 42 {venv}"
