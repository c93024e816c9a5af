"""The core packages must stay importable without Streamlit (dependencies point down only)."""
import subprocess
import sys

import pytest

CORE_PACKAGES = ["builder", "trainers", "viz"]


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_core_package_imports_no_streamlit(package):
    probe = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    if not mod.name.endswith('__main__'):\n"
        "        importlib.import_module(mod.name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{package} pulled in streamlit modules: {result.stdout.strip()}"
