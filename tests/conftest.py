"""Shared helpers for the plugin's own tests."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from types import ModuleType

import psutil
import pytest

# pytester's in-process runs restore sys.modules afterwards: a module first imported inside
# one (requests, by the plugin's client) is dropped and imported again by the next, and
# objects of the two copies no longer pass each other's isinstance checks ("You can only
# merge into CookieJar"). Imported here, it belongs to the outer process for the session.
import requests  # noqa: F401

from pytest_influxperf.servers.process import OWNER_FILE, TEMP_PREFIX


def in_ci() -> bool:
    """CI promises the whole suite: there a missing engine, image or package fails."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str, how: str) -> None:
    """Skip (outside CI, saying why) or fail in one line (under CI=true): ``what`` is missing."""
    if in_ci():
        pytest.fail(f"CI=true but {what} is missing: {how}", pytrace=False)
    pytest.skip(f"{what} is missing: {how}")


def require_module(name: str, how: str) -> ModuleType:
    """``pytest.importorskip`` that fails under CI instead of skipping."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"the {name!r} package", how)
        raise  # not reached: missing() always raises


def influxd_children() -> list[psutil.Process]:
    """influxd processes started by this test process (directly or through pytester)."""
    me = psutil.Process(os.getpid())
    return [p for p in me.children(recursive=True) if p.name() == "influxd"]


def influxd_folders(owner: int | None = None) -> set[Path]:
    """Server folders owned by ``owner`` (default: this process). Other runs on the machine
    (xdist workers, other users) have folders of their own, which are none of our business."""
    owner = os.getpid() if owner is None else owner
    found = set()
    for folder in Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            if int((folder / OWNER_FILE).read_text()) == owner:
                found.add(folder)
        except (OSError, ValueError):
            continue
    return found


@pytest.fixture
def influxd_installed() -> None:
    """Skips (fails under CI) where no influxd binary is on PATH."""
    import shutil

    if shutil.which("influxd") is None:
        missing("influxd", "apt-get install influxdb")


@pytest.fixture(scope="module")
def engine():
    """A docker SDK client for the local engine; skips when no engine answers (CI has one)."""
    from pytest_influxperf.servers.docker import docker_available

    ok, reason = docker_available()
    if not ok:
        missing("a Docker engine", f"{reason} (bash scripts/start-dockerd.sh starts one)")
    import docker

    client = docker.from_env(timeout=120)
    yield client
    client.close()


@pytest.fixture
def no_leftovers():
    """Asserts a test leaves no influxd child process and no server folder behind."""
    before = influxd_folders()
    yield
    assert influxd_children() == []
    assert influxd_folders() - before == set()

