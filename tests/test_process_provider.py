"""The process provider against the real influxd: start, use, fail readably, clean up."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from pytest_influxperf.errors import (
    AuthError,
    ServerExited,
    ServerStartError,
    ServerUnavailable,
)
from pytest_influxperf.servers import ResourceLimits
from pytest_influxperf.servers.process import (
    OWNER_FILE,
    TEMP_PREFIX,
    ProcessServer,
    render_config,
    sweep_orphans,
)
from pytest_influxperf.servers.cgroups import cgroups_writable
from pytest_influxperf.servers.url import UrlServer

pytestmark = pytest.mark.usefixtures("no_leftovers")


def test_start_write_read_stop_leaves_nothing():
    server = ProcessServer().start()
    root, pid = server.root, server.proc.pid
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.api == "v1" and server.version.startswith("1.")
        client = server.client()
        client.create_database("demo")
        client.write("cpu,host=a usage=12.5 1700000000000000000", "demo")
        rows = client.query('SELECT "usage" FROM "cpu"', "demo").rows
        assert rows == [{"_measurement": "cpu", "time": 1700000000000000000, "usage": 12.5}]
    finally:
        server.stop()
    assert not root.exists()
    with pytest.raises(OSError):
        os.kill(pid, 0)
    server.stop()  # idempotent


def test_resources_are_real_figures():
    with ProcessServer() as server:
        server.client().create_database("demo")
        server.client().write("\n".join(f"m,h=h{i} v={i} {i}" for i in range(1000)), "demo")
        res = server.resources()
    assert res.rss_bytes and res.rss_bytes > 1_000_000
    assert res.cpu_seconds is not None and res.cpu_seconds >= 0
    assert res.disk_bytes is not None and res.disk_bytes > 0  # the WAL holds the points


def test_missing_binary_says_what_to_install():
    with pytest.raises(ServerUnavailable, match="apt-get install influxdb"):
        ProcessServer("/nonexistent/influxd").start()


def test_port_taken_error_carries_the_log_tail():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ProcessServer(config={"http": {"bind-address": f"127.0.0.1:{port}"}},
                               startup_timeout=15)
        with pytest.raises(ServerStartError) as info:
            with server:
                pass
    assert "exited during start-up" in str(info.value)
    assert "address already in use" in str(info.value)
    assert server.root is None  # the failed start cleaned up


def test_broken_config_error_carries_the_log_tail():
    server = ProcessServer(config={"data": {"index-version": "no-such-index"}}, startup_timeout=15)
    with pytest.raises(ServerStartError) as info:
        with server:
            pass
    assert "last lines of the server log" in str(info.value)


def test_server_killed_mid_test_is_reported_within_a_bound():
    with ProcessServer() as server:
        client = server.client()
        client.create_database("demo")
        server.proc.kill()
        server.proc.wait(5)
        began = time.monotonic()
        with pytest.raises(ServerExited) as info:
            client.write("m v=1 1", "demo")
        assert time.monotonic() - began < 15
        assert "exited" in str(info.value)
        assert "last lines of the server log" in str(info.value)
        with pytest.raises(ServerExited):
            server.check_alive()


@pytest.mark.skipif(not cgroups_writable(), reason="cgroups are not writable here (not root)")
def test_limits_are_a_cgroup_quota_and_memory_cap_like_docker_cpus():
    with ProcessServer(limits=ResourceLimits(cpus=0.5, memory_bytes=512 * 2**20)) as server:
        folders = list(server._cgroup.folders)
        assert folders, server.limits_applied
        for folder in folders:
            assert str(server.proc.pid) in (folder / "cgroup.procs").read_text().split()
        quota = next((f for f in folders if (f / "cpu.cfs_quota_us").exists()), None)
        if quota is not None:  # cgroup v1
            assert (quota / "cpu.cfs_quota_us").read_text().strip() == "50000"
        assert server.limits_applied == ["cpu quota 0.5", "memory 512 MiB"]
        assert server.environment()["limits_applied"] == "cpu quota 0.5, memory 512 MiB"
        server.client().create_database("capped")  # still a working server
    assert not any(folder.exists() for folder in folders)


def test_without_cgroups_cpu_limit_pins_to_whole_cores(monkeypatch):
    import psutil

    from pytest_influxperf.servers import process

    monkeypatch.setattr(process, "cgroups_writable", lambda: False)
    with ProcessServer(limits=ResourceLimits(cpus=0.5, memory_bytes=2**30)) as server:
        assert len(psutil.Process(server.proc.pid).cpu_affinity()) == 1
        assert server.limits_applied == ["pinned to 1 core(s)",
                                         "memory not capped (no writable cgroup)"]


def test_wrong_credentials_give_a_clear_401_without_the_secret():
    with ProcessServer(auth=("admin", "correct-horse")) as server:
        assert server.client().list_databases() == []
        intruder = UrlServer(server.url, token="admin:wrong-battery").start()
        with pytest.raises(AuthError) as info:
            intruder.client().create_database("x")
        text = str(info.value)
        assert "401" in text and "--influx-token" in text
        assert "wrong-battery" not in text and "wrong-battery" not in repr(intruder)


def test_sweep_removes_only_folders_of_dead_owners(tmp_path):
    dead, alive = tmp_path / f"{TEMP_PREFIX}dead", tmp_path / f"{TEMP_PREFIX}alive"
    for folder, pid in ((dead, 2**22 + 12345), (alive, os.getpid())):
        folder.mkdir()
        (folder / OWNER_FILE).write_text(str(pid))
    assert sweep_orphans(tmp_path) == 1
    assert not dead.exists() and alive.exists()


def test_config_is_confined_to_its_folder_and_loopback(tmp_path):
    text = render_config(Path(tmp_path), 18086, 18088)
    assert f'dir = "{tmp_path}/data"' in text
    assert 'bind-address = "127.0.0.1:18086"' in text
    assert "reporting-enabled = false" in text
