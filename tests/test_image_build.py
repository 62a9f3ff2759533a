"""``influxperf image build-local``: pure pieces without Docker, the build against a real engine.

The engine tests build under a throw-away tag (removed afterwards) so they never disturb
the image other tests and runs use.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid

import pytest

from pytest_influxperf.servers.docker import LOCAL_IMAGE_REPO, DockerServer
from pytest_influxperf.servers.image import (
    CONFIG_PATH,
    SHA_LABEL,
    ImageBuildError,
    build_local_image,
    file_sha256,
    image_config,
    import_changes,
    influxd_version,
    parse_ldd,
    register,
    run,
    write_rootfs,
)

INFLUXD = shutil.which("influxd")
needs_influxd = pytest.mark.usefixtures("influxd_installed")  # skips, or fails under CI

LDD_GLIBC = """\
\tlinux-vdso.so.1 (0x00007ffd5b3f2000)
\tlibpthread.so.0 => /lib/x86_64-linux-gnu/libpthread.so.0 (0x00007f0e1c000000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e1be00000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1c200000)
"""


# -- pure ----------------------------------------------------------------------------
def test_parse_ldd_keeps_libraries_and_loader_in_order():
    assert parse_ldd(LDD_GLIBC) == ["/lib/x86_64-linux-gnu/libpthread.so.0",
                                    "/lib/x86_64-linux-gnu/libc.so.6",
                                    "/lib64/ld-linux-x86-64.so.2"]


def test_parse_ldd_missing_library_is_an_error():
    with pytest.raises(ImageBuildError, match="libfoo.so.1"):
        parse_ldd("\tlibfoo.so.1 => not found\n", "/usr/bin/influxd")


def test_config_is_loopback_safe_and_quiet():
    config = image_config()
    assert 'bind-address = ":8086"' in config  # HTTP on the container's interfaces
    assert 'bind-address = "127.0.0.1:8088"' in config  # RPC stays inside
    assert "reporting-disabled = true" in config and "reporting-enabled = false" in config
    assert '"/var/lib/influxdb/data"' in config


def test_import_changes_make_a_runnable_image():
    changes = import_changes("InfluxDB v9.9.9", "ab" * 32, "/opt/influxd")
    assert 'ENTRYPOINT ["/usr/bin/influxd"]' in changes
    assert "EXPOSE 8086/tcp" in changes
    assert f"ENV INFLUXDB_CONFIG_PATH={CONFIG_PATH}" in changes
    label = next(c for c in changes if c.startswith("LABEL "))
    assert f'{SHA_LABEL}="{"ab" * 32}"' in label


@needs_influxd
def test_version_is_read_from_the_binary():
    full, tag = influxd_version(INFLUXD)
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tag)
    assert tag in full
    out = subprocess.run([INFLUXD, "version"], capture_output=True, text=True, timeout=30)
    assert full == out.stdout.strip().splitlines()[0]


def test_version_of_something_else_is_a_clear_error(tmp_path):
    fake = tmp_path / "influxd"
    fake.write_text("#!/bin/sh\necho 'no version here'\n")
    fake.chmod(0o755)
    with pytest.raises(ImageBuildError, match="did not print a version"):
        influxd_version(str(fake))


def test_only_influxdb_1_is_packaged(tmp_path):
    fake = tmp_path / "influxd"
    fake.write_text("#!/bin/sh\necho 'InfluxDB v2.7.1 (git: 407fa622e9) build_date: 2023-04-28'\n")
    fake.chmod(0o755)
    with pytest.raises(ImageBuildError, match="InfluxDB 1.x only"):
        build_local_image(str(fake))


@needs_influxd
def test_rootfs_holds_binary_libraries_tools_and_config():
    buffer = io.BytesIO()
    write_rootfs(buffer, INFLUXD, {"/usr/bin/du": shutil.which("du")}, "# config\n")
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["usr/bin/influxd"].size == os.path.getsize(INFLUXD)
        assert members["usr/bin/influxd"].mode & 0o111
        assert "usr/bin/du" in members
        assert tar.extractfile(CONFIG_PATH.lstrip("/")).read() == b"# config\n"
        assert members["tmp"].mode == 0o1777
        ldd = subprocess.run(["ldd", INFLUXD], capture_output=True, text=True, timeout=30).stdout
        for lib in parse_ldd(ldd):
            assert members[lib.lstrip("/")].isfile(), f"{lib} missing from the image"
        assert all(m.uid == 0 and m.mtime == 0 for m in members.values())


def test_cli_without_subcommand_prints_usage(capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert run(parser.parse_args(["image"])) == 2
    assert "build-local" in capsys.readouterr().err


def test_cli_missing_binary_says_what_to_do(capsys, tmp_path):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["image", "build-local", "--binary", str(tmp_path / "influxd")])
    assert run(args) == 1
    err = capsys.readouterr().err
    assert "influxd not found" in err and "apt-get install influxdb" in err


@needs_influxd
def test_cli_engine_absent_says_what_to_do(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert run(parser.parse_args(["image", "build-local"])) == 1
    assert "start-dockerd.sh" in capsys.readouterr().err


# -- against the engine --------------------------------------------------------------
@pytest.fixture
def scratch_tag(engine):
    """A tag no one else uses; the image is removed after the test."""
    tag = f"{LOCAL_IMAGE_REPO}-test:{uuid.uuid4().hex[:10]}"
    yield tag
    import docker

    try:
        engine.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


@needs_influxd
@pytest.mark.timeout(180)
def test_build_then_start_a_server_from_it(engine, scratch_tag):
    first = build_local_image(tag=scratch_tag)
    assert first.built
    image = engine.images.get(scratch_tag)
    config = image.attrs["Config"]
    assert config["Entrypoint"] == ["/usr/bin/influxd"]
    assert "8086/tcp" in config["ExposedPorts"]
    assert config["Labels"][SHA_LABEL] == file_sha256(os.path.realpath(INFLUXD))

    again = build_local_image(tag=scratch_tag)
    assert (again.built, again.image_id) == (False, first.image_id)  # same binary: no rebuild

    with DockerServer(scratch_tag) as server:
        _full, tag = influxd_version(INFLUXD)
        assert server.version.startswith(tag)
        client = server.client()
        client.create_database("built")
        client.write("m v=1i 1", "built")
        assert client.query('SELECT "v" FROM "m"', "built").rows[0]["v"] == 1
        # the image carries time zones: InfluxQL's tz() needs them
        rows = client.query("SELECT count(v) FROM m WHERE time >= 0 AND time < 86400s "
                            "GROUP BY time(1d) tz('Europe/Paris')", "built").rows
        assert sum(row["count"] for row in rows) == 1

    forced = build_local_image(tag=scratch_tag, force=True)
    assert forced.built and forced.image_id != first.image_id
    import docker

    with pytest.raises(docker.errors.ImageNotFound):  # the replaced image was dropped
        engine.images.get(first.image_id)


@needs_influxd
@pytest.mark.timeout(180)
def test_console_script_builds_and_is_idempotent(engine, scratch_tag):
    # the console script's own dispatcher (`influxperf` is `pytest_influxperf.cli:main`)
    command = [sys.executable, "-m", "pytest_influxperf.cli",
               "image", "build-local", "--tag", scratch_tag]
    cwd = os.path.dirname(os.path.dirname(__file__))
    first = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=cwd)
    assert first.returncode == 0, first.stderr
    assert f"built {scratch_tag}" in first.stdout
    assert f"--influx-image {scratch_tag}" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=cwd)
    assert second.returncode == 0, second.stderr
    assert f"up to date: {scratch_tag}" in second.stdout
