"""No silent skips where CI promises coverage: under CI=true a missing engine, binary or
package fails the run in one line; outside CI it skips and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import missing, require_module

ROOT = Path(__file__).resolve().parent.parent


def test_outside_ci_a_missing_part_is_a_skip_that_says_how(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="a Docker engine is missing: start one"):
        missing("a Docker engine", "start one")


def test_under_ci_a_missing_part_fails(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception,
                       match="CI=true but the 'nope_pkg' package is missing: pip install"):
        require_module("nope_pkg", "pip install nope_pkg")


def test_a_ci_run_without_an_engine_fails_in_one_line_per_test(tmp_path) -> None:
    # A dead DOCKER_HOST: the docker provider tests must fail, not pass as skips.
    env = {**os.environ, "CI": "true", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_docker_provider.py",
                           "-q", "-p", "no:cacheprovider", "-x", "--tb=line"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "CI=true but a Docker engine is missing" in done.stdout
    assert "skipped" not in done.stdout.splitlines()[-1]
