"""The plugin as users meet it: pytest runs a small test file with the plugin loaded."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from .conftest import influxd_children, influxd_folders

DEAD_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def test_user_file_writes_and_reads_back_with_an_independent_client(pytester, no_leftovers):
    pytester.makepyfile("""
        from urllib.parse import urlparse
        from influxdb import InfluxDBClient

        def test_round_trip(influxdb, influx_database):
            influxdb.client().write("weather,city=Oslo temp=-3.5 1700000000000000000",
                                    influx_database)
            url = urlparse(influxdb.url)
            other = InfluxDBClient(host=url.hostname, port=url.port, database=influx_database)
            points = list(other.query('SELECT "temp" FROM "weather"', epoch="ns").get_points())
            assert points == [{"time": 1700000000000000000, "temp": -3.5}]
    """)
    result = pytester.runpytest("--influx-provider", "process")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*influxperf: process server http://127.0.0.1:*"])


def test_database_is_dropped_after_the_test(pytester):
    pytester.makepyfile("""
        seen = []

        def test_one(influxdb, influx_database):
            seen.append(influx_database)
            assert influx_database in influxdb.client().list_databases()

        def test_two(influxdb, influx_database):
            assert influx_database != seen[0]
            assert seen[0] not in influxdb.client().list_databases()
    """)
    pytester.runpytest("--influx-provider", "process").assert_outcomes(passed=2)


def test_bench_tests_are_skipped_with_a_reason_that_says_how_to_run_them(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.influx_bench(group="writes")
        def test_bench():
            raise AssertionError("must not run without --influx-bench")

        def test_plain():
            pass
    """)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*run it with `pytest --influx-bench`*"])


def test_no_server_is_one_readable_message_without_traceback(pytester, monkeypatch):
    for key, value in DEAD_DOCKER.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile("""
        def test_needs_server(influxdb):
            pass
    """)
    result = pytester.runpytest("--influx-binary", "/nonexistent/influxd")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no InfluxDB server could be had*", "*--influx-url*",
                                 "*apt-get install influxdb*"])
    assert "Traceback" not in result.stdout.str()
    assert "plugin.py" not in result.stdout.str()


def test_auto_falls_back_to_process_and_says_so_once(pytester, monkeypatch):
    for key, value in DEAD_DOCKER.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile("""
        def test_a(influxdb):
            assert influxdb.provider == "process"

        def test_b(influxdb):
            assert influxdb.provider == "process"
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    assert result.stdout.str().count("Docker not used") == 1


def test_explicit_docker_without_engine_fails_with_the_reason(pytester, monkeypatch):
    for key, value in DEAD_DOCKER.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile("""
        def test_a(influxdb):
            pass
    """)
    result = pytester.runpytest("--influx-provider", "docker")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--influx-provider docker:*"])
    assert "Traceback" not in result.stdout.str()


def test_bad_option_value_is_a_usage_error(pytester):
    result = pytester.runpytest("--influx-provider", "kubernetes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--influx-provider must be one of auto, docker, process, url*"])


def test_ini_twin_sets_the_provider(pytester):
    pytester.makeini("""
        [pytest]
        influx_provider = url
    """)
    pytester.makepyfile("""
        def test_a(influxdb):
            pass
    """)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*--influx-provider url needs --influx-url URL*"])


def test_server_dying_during_a_test_fails_that_test_with_the_log_tail(pytester, no_leftovers):
    pytester.makepyfile("""
        def test_kill(influxdb, influx_database):
            influxdb.proc.kill()
            influxdb.proc.wait(5)
            influxdb.client().write("m v=1 1", influx_database)

        def test_after(influxdb):
            influxdb.check_alive()
    """)
    began = time.monotonic()
    result = pytester.runpytest("--influx-provider", "process")
    assert time.monotonic() - began < 60
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*ServerExited: InfluxDB server exited*",
                                 "*last lines of the server log*"])


def test_failing_tests_and_fixtures_leave_nothing_behind(pytester, no_leftovers):
    pytester.makepyfile("""
        import pytest

        @pytest.fixture
        def broken(influxdb):
            raise RuntimeError("fixture fails on purpose")

        def test_fails(influxdb, influx_database):
            assert False, "fails on purpose"

        def test_fixture_fails(broken):
            pass
    """)
    result = pytester.runpytest("--influx-provider", "process")
    result.assert_outcomes(failed=1, errors=1)


def test_ctrl_c_leaves_no_process_or_folder(pytester):
    pytester.makepyfile("""
        import time

        def test_long(influxdb, influx_database):
            print("SERVER-UP", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider",
                             "--influx-provider", "process", str(pytester.path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if "SERVER-UP" in line or time.monotonic() > deadline:
            break
    assert influxd_children(), "the server should be running while the test sleeps"
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0]
    assert "KeyboardInterrupt" in output
    time.sleep(0.5)
    assert influxd_children() == []
    assert influxd_folders(owner=proc.pid) == set()
