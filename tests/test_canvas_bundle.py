"""The committed canvas bundle (ui/canvas/dist) is exactly what its source builds to.

Users get the built files and need no Node.js; this test keeps them honest: a clean `npm ci` from
the lock file plus `build.mjs`, in a temporary copy of the frontend, must reproduce every byte.
"""
import filecmp
import shutil
import subprocess
from pathlib import Path

import pytest

CANVAS = Path(__file__).resolve().parents[1] / "ui" / "canvas"
FRONTEND = CANVAS / "frontend"
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ENETUNREACH")


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_committed_bundle_is_what_the_source_builds_to(tmp_path):
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed to rebuild the canvas bundle")
    work = tmp_path / "frontend"
    shutil.copytree(FRONTEND, work, ignore=shutil.ignore_patterns("node_modules"))

    install = run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], work)
    if install.returncode and any(code in install.stderr for code in NETWORK_ERRORS):
        pytest.skip(f"npm could not reach its registry: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr[-2000:]
    build = run(["node", "build.mjs", "--outdir", str(tmp_path / "dist")], work)
    assert build.returncode == 0, build.stderr[-2000:]

    built = sorted(p.name for p in (tmp_path / "dist").iterdir())
    assert built == sorted(p.name for p in (CANVAS / "dist").iterdir())
    stale = [name for name in built
             if not filecmp.cmp(tmp_path / "dist" / name, CANVAS / "dist" / name, shallow=False)]
    assert not stale, f"rebuild the canvas (cd ui/canvas/frontend && npm ci && npm run build): {stale}"
