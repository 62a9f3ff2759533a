"""The docker provider against a real Docker engine and the image built from the local influxd.

Skipped (with the reason) only when no Docker engine answers; on this project's machines
start one with ``bash scripts/start-dockerd.sh``. The image is built once per session with
``build_local_image`` (a no-op when it is up to date).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from pytest_influxperf.errors import ServerExited, ServerStartError, ServerUnavailable
from pytest_influxperf.servers.base import ResourceLimits
from pytest_influxperf.servers.docker import (
    LOCAL_IMAGE_REPO,
    OWNER_HOST_LABEL,
    OWNER_PID_LABEL,
    OWNER_STARTED_LABEL,
    SESSION_ID,
    SESSION_LABEL,
    DockerServer,
    _oom_counter_file,
    _owner_labels,
    _rss_from_stats,
    docker_available,
    local_image_present,
    reap_leftovers,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def local_image(engine) -> str:
    """The image made from the installed influxd (built if missing)."""
    from pytest_influxperf.servers.image import build_local_image

    return build_local_image().tag


def our_containers(client) -> list[str]:
    """Names of containers this test process started (any state)."""
    found = client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={SESSION_ID}"})
    return sorted(c.name for c in found)


@pytest.fixture
def no_leftover_containers(engine):
    """Asserts the test leaves none of its containers (running or not) behind. Containers
    that were there before it (the session's own server, when auto chose docker) are not
    its business."""
    before = set(our_containers(engine))
    yield
    assert set(our_containers(engine)) - before == set()


@pytest.fixture
def server(local_image, no_leftover_containers):
    with DockerServer(local_image) as srv:
        yield srv


def test_start_stop_leaves_no_container_or_volume(engine, local_image, no_leftover_containers):
    from testcontainers.core.config import testcontainers_config

    ryuk_setting = testcontainers_config._ryuk_disabled
    before = set(our_containers(engine))
    srv = DockerServer(local_image).start()
    try:
        name = srv.container_name
        assert set(our_containers(engine)) - before == {name}
        # no reaper container was asked for, and the user's testcontainers setting is back
        assert not [c for c in engine.containers.list(all=True) if "ryuk" in str(c.image)]
        assert testcontainers_config._ryuk_disabled == ryuk_setting
        volumes = [m["Name"] for m in engine.containers.get(name).attrs["Mounts"]
                   if m["Type"] == "volume"]
        assert volumes, "the image declares a VOLUME for the data folder"
    finally:
        srv.stop()
    srv.stop()  # idempotent
    import docker

    for volume in volumes:
        with pytest.raises(docker.errors.NotFound):
            engine.volumes.get(volume)
    assert not srv.is_running()


def test_traffic_stays_on_loopback(engine, server):
    assert server.url.startswith("http://127.0.0.1:")
    bindings = engine.containers.get(server.container_name).attrs["NetworkSettings"]["Ports"]
    host_ips = {b["HostIp"] for b in bindings["8086/tcp"]}
    assert host_ips == {"127.0.0.1"}
    assert bindings["8086/tcp"][0]["HostPort"] == server.url.rsplit(":", 1)[1]


def test_point_written_and_read_back(server):
    client = server.client()
    db = f"t_{uuid.uuid4().hex[:8]}"
    client.create_database(db)
    try:
        client.write("cpu,host=h1 usage=0.5,count=7i 1700000000000000000", db)
        rows = client.query('SELECT "usage", "count", "host" FROM "cpu"', db).rows
        assert [(r["usage"], r["count"], r["host"]) for r in rows] == [(0.5, 7, "h1")]
    finally:
        client.drop_database(db)
    assert server.api == "v1"
    # the image's tag is the version influxd reports (build-local reads `influxd version`)
    assert server.version.startswith(server.image.rsplit(":", 1)[1])


def test_resources_are_numbers_that_move_with_work(server):
    before = server.resources()
    client = server.client()
    db = f"t_{uuid.uuid4().hex[:8]}"
    client.create_database(db)
    lines = "\n".join(f"m,host=h{i % 50} v={i}i {1700000000 + i}000000000" for i in range(20_000))
    client.write(lines, db)
    after = server.resources()
    assert before.rss_bytes and before.rss_bytes > 0
    assert after.cpu_seconds is not None and before.cpu_seconds is not None
    assert after.cpu_seconds > before.cpu_seconds
    assert after.disk_bytes is not None and before.disk_bytes is not None
    assert after.disk_bytes > before.disk_bytes
    own = server.disk_bytes(db)
    assert own is not None and 0 < own <= after.disk_bytes
    client.drop_database(db)


def test_engine_api_figures_agree_with_the_direct_ones(server):
    """The fallback for engines whose processes and volumes are not visible from here."""
    client = server.client()
    client.create_database("fallback")
    client.write("\n".join(f"m,host=h{i % 20} v={i}i {i}" for i in range(5_000)), "fallback")
    rss, cpu = server._engine_figures()
    assert rss is not None and rss > 0
    assert cpu is not None and cpu > 0
    direct = server.disk_bytes("fallback")
    via_du = server._du(["/var/lib/influxdb/data/fallback", "/var/lib/influxdb/wal/fallback"])
    assert direct is not None and via_du is not None
    # du -B1 counts allocated blocks, also of the folders themselves and of partly used last
    # blocks: at most one 4 KiB block more per file or folder; the files are the same.
    volume = server._volume_path()  # the image has no shell tools: count on the host
    entries = sum(1 + len(dirs) + len(files) for folder in ("data/fallback", "wal/fallback")
                  for _root, dirs, files in os.walk(os.path.join(volume, folder)))
    assert entries > 2
    assert direct <= via_du <= direct + 4096 * entries


def test_oom_counter_file_for_cgroup_v1_and_v2(tmp_path):
    """Pure: where the kernel counts OOM kills, from /proc/PID/cgroup text."""
    v1 = "4:memory:/docker/abc\n0::/docker/abc\n"
    (tmp_path / "memory/docker/abc").mkdir(parents=True)
    (tmp_path / "memory/docker/abc/memory.oom_control").write_text("oom_kill 0\n")
    assert _oom_counter_file(v1, str(tmp_path)) == f"{tmp_path}/memory/docker/abc/memory.oom_control"
    v2 = "0::/system.slice/docker-abc.scope\n"
    (tmp_path / "system.slice/docker-abc.scope").mkdir(parents=True)
    (tmp_path / "system.slice/docker-abc.scope/memory.events").write_text("oom_kill 0\n")
    assert _oom_counter_file(v2, str(tmp_path)).endswith("docker-abc.scope/memory.events")
    assert _oom_counter_file("4:memory:/elsewhere\n", str(tmp_path)) is None


def test_rss_from_stats_prefers_anonymous_memory():
    """Pure: cgroup v1 and v2 shapes of Docker's memory_stats."""
    v1 = {"usage": 900, "stats": {"rss": 300, "mapped_file": 20, "cache": 500}}
    v2 = {"usage": 900, "stats": {"anon": 250, "file_mapped": 10, "file": 600}}
    bare = {"usage": 900, "stats": {"cache": 400}}
    assert _rss_from_stats(v1) == 320
    assert _rss_from_stats(v2) == 260
    assert _rss_from_stats(bare) == 500
    assert _rss_from_stats({}) is None


def test_limits_reach_the_host_config(engine, local_image, no_leftover_containers):
    limits = ResourceLimits(cpus=1.5, memory_bytes=512 * 2**20)
    with DockerServer(local_image, limits=limits) as srv:
        host_config = engine.containers.get(srv.container_name).attrs["HostConfig"]
        assert host_config["NanoCpus"] == 1_500_000_000
        assert host_config["Memory"] == 512 * 2**20
        assert srv.environment()["limits_cpus"] == 1.5
        srv.client().create_database("limited")  # still a working server under the caps


def test_missing_image_is_a_clear_error(engine, no_leftover_containers):
    missing = f"{LOCAL_IMAGE_REPO}-missing:{uuid.uuid4().hex[:8]}"
    with pytest.raises(ServerUnavailable) as info, DockerServer(missing):
        pass
    message = str(info.value)
    assert missing in message
    assert "influxperf image build-local" in message
    assert local_image_present(missing) is None


def test_bad_image_name_is_a_clear_error(engine):
    with pytest.raises(ServerUnavailable, match="not a usable image name"):
        DockerServer("Not A Valid/Name").start()


def test_engine_absent_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    ok, reason = docker_available()
    assert not ok
    assert "no-engine.sock" in reason and "start-dockerd.sh" in reason
    assert local_image_present(None) is None
    with pytest.raises(ServerUnavailable, match="no Docker engine answers"):
        DockerServer().start()


def test_remote_engine_is_refused(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.10:2375")
    ok, reason = docker_available()
    assert not ok
    assert "not a local engine" in reason and "127.0.0.1" in reason


def test_memory_cap_below_the_engine_minimum_is_a_clear_error(local_image,
                                                              no_leftover_containers):
    with pytest.raises(ServerStartError, match="(?i)memory"), \
            DockerServer(local_image, limits=ResourceLimits(memory_bytes=2**20)):
        pass


def test_killed_container_is_reported_with_its_log(engine, server):
    engine.containers.get(server.container_name).kill()
    with pytest.raises(ServerExited) as info:
        server.check_alive()
    message = str(info.value)
    assert "exit code 137" in message
    assert "--- last lines of the server log ---" in message
    assert "Listening on HTTP" in message
    # the client notices too, through the server's liveness check
    with pytest.raises(ServerExited):
        server.client().query("SHOW DATABASES")


def test_oom_kill_under_a_memory_cap_is_named(local_image, no_leftover_containers):
    """A tier whose memory cap is too small: the error says the OOM killer did it."""
    with DockerServer(local_image, limits=ResourceLimits(memory_bytes=8 * 2**20)) as srv:
        client = srv.client()
        client.create_database("oom")
        with pytest.raises(ServerExited) as info:
            for batch in range(10):  # bounded: each batch adds more than the cap holds
                client.write("\n".join(f"m,host=h{i} v={i}i {batch * 10**6 + i}"
                                       for i in range(20_000)), "oom")
        message = str(info.value)
        assert "OOM killer" in message and "exit code 137" in message


@pytest.fixture
def broken_image(engine, local_image):
    """The local image with a CMD that points influxd at a config that does not exist."""
    tag = f"{LOCAL_IMAGE_REPO}-broken:{uuid.uuid4().hex[:8]}"
    base = engine.containers.create(local_image)
    try:
        repository, _, version = tag.rpartition(":")
        base.commit(repository=repository, tag=version,
                    changes=['CMD ["run", "-config", "/no/such/influxdb.conf"]'])
    finally:
        base.remove(force=True, v=True)
    yield tag
    engine.images.remove(tag, force=True)


def test_failed_start_carries_the_log_tail(broken_image, no_leftover_containers):
    with pytest.raises(ServerStartError) as info, DockerServer(broken_image, startup_timeout=30):
        pass
    message = str(info.value)
    assert "--- last lines of the server log ---" in message
    assert "/no/such/influxdb.conf" in message


def test_leftovers_of_dead_owners_are_reaped(engine, local_image):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    labels = {SESSION_LABEL: "old-run", OWNER_HOST_LABEL: os.uname().nodename}
    orphan = engine.containers.create(local_image, labels={**labels, OWNER_PID_LABEL: str(dead.pid)})
    # this process's pid, but another start time: a dead run whose pid was reused
    reused = engine.containers.create(local_image, labels={
        **labels, OWNER_PID_LABEL: str(os.getpid()), OWNER_STARTED_LABEL: "12345.00"})
    alive = engine.containers.create(local_image, labels=_owner_labels())
    try:
        removed = reap_leftovers()
        assert alive.name not in removed
        import docker

        # gone, whoever reaped them (a concurrent run's start() may have been first)
        for container in (orphan, reused):
            with pytest.raises(docker.errors.NotFound):
                container.reload()
        alive.reload()  # still there: its owner (this process) runs
    finally:
        import docker

        for container in (orphan, reused, alive):
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass


def test_sigterm_removes_the_container(engine, local_image):
    """A run stopped with SIGTERM (CI cancel) leaves no container behind."""
    script = textwrap.dedent(f"""
        import json, sys, time
        from pytest_influxperf.servers.docker import DockerServer
        server = DockerServer({local_image!r}).start()
        print(json.dumps({{"name": server.container_name}}), flush=True)
        time.sleep(120)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        name = json.loads(child.stdout.readline())["name"]
        assert engine.containers.get(name).status == "running"
        child.terminate()
        assert child.wait(timeout=60) == -15  # still dies of SIGTERM, after cleaning up
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    import docker

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            engine.containers.get(name)
        except docker.errors.NotFound:
            break
        time.sleep(0.1)
    else:
        engine.containers.get(name).remove(force=True, v=True)
        pytest.fail(f"container {name} outlived its SIGTERMed owner")


def test_auto_image_choice_finds_the_local_build(engine, local_image):
    chosen = local_image_present(None)
    assert chosen is not None
    # the pinned upstream image wins when present; otherwise a local build is chosen
    assert chosen == local_image or not chosen.startswith(LOCAL_IMAGE_REPO + ":")


def test_plugin_runs_tests_on_a_docker_server(pytester, engine, local_image,
                                              no_leftover_containers):
    """As a user runs it: --influx-provider docker hands tests a container-backed server."""
    pytester.makepyfile(test_user="""
        def test_round_trip(influxdb, influx_database):
            assert influxdb.provider == "docker"
            assert influxdb.url.startswith("http://127.0.0.1:")
            client = influxdb.client()
            client.write("m,host=a v=3i 1", influx_database)
            assert client.query('SELECT "v" FROM "m"', influx_database).rows[0]["v"] == 3
            assert influxdb.resources().rss_bytes > 0
    """)
    result = pytester.runpytest("--influx-provider", "docker", "--influx-image", local_image)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*influxperf: docker server http://127.0.0.1:*"])


def test_importing_the_provider_loads_no_docker_sdk():
    """The plugin imports servers lazily, but this module must stay cheap on its own too."""
    code = ("import sys, pytest_influxperf.servers.docker, pytest_influxperf.servers.image; "
            "print(sorted(m for m in ('docker', 'testcontainers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


SCRIPT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts", "start-dockerd.sh")


def test_start_dockerd_is_a_no_op_when_the_engine_answers(engine):
    out = subprocess.run(["bash", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "already answers" in out.stdout


def test_start_dockerd_refuses_a_remote_docker_host():
    env = {**os.environ, "DOCKER_HOST": "tcp://192.0.2.10:2375"}
    out = subprocess.run(["bash", SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 1
    assert "not a local unix socket" in out.stderr
