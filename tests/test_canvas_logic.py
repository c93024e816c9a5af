"""The canvas editor's pure JavaScript logic (ui/canvas/frontend/test/*.test.mjs) under `node --test`:
graph edits, ports, auto-layout and the checks on typed-in parameter values."""
import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[1] / "ui" / "canvas" / "frontend"


def test_canvas_logic_passes_its_node_tests():
    if not shutil.which("node"):
        pytest.skip("node is needed to run the canvas's JavaScript tests")
    result = subprocess.run(["node", "--test", *sorted(map(str, (FRONTEND / "test").glob("*.test.mjs")))],
                            cwd=FRONTEND, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    assert "# fail 0" in result.stdout
