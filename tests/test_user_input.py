"""What the user hands over is checked before any server starts: one line each.

The pytester runs stand in a fixture for ``influxdb`` that fails if it is ever set up: a
refused option or marker must stop the run before a server would start. On the old code
a bad tier was refused by a 45-line RuntimeError after the benchmarks ran, a negative
tolerance said "expected one argument", a misspelt marker keyword became an info entry,
and an unknown claim id passed even with ``--influx-strict-claims``.
"""

from __future__ import annotations

import pytest

from pytest_influxperf.bench.claims import UnknownClaim
from pytest_influxperf.bench.recorder import BenchRecorder, check_marker
from pytest_influxperf.bench.records import BenchDataError

NO_SERVER = '''
import pytest


@pytest.fixture(scope="session")
def influxdb():
    raise AssertionError("a server was asked for")
'''

BENCH = '''
import pytest


@pytest.mark.influx_bench(group="writes")
def test_w(influx_bench):
    influx_bench.metric("write points/s", 100.0, unit="points/s", direction="higher")
'''


def errors(result: pytest.RunResult) -> list[str]:
    return [line for line in result.errlines if line.strip()]


@pytest.fixture
def bench_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(NO_SERVER)
    pytester.makepyfile(test_bench=BENCH)
    return pytester


@pytest.mark.parametrize("tier", ["../../etc", "a/b", ".."])
def test_a_tier_that_is_no_folder_name_is_a_usage_error(bench_project, tier):
    result = bench_project.runpytest("-p", "no:cacheprovider", "--influx-bench",
                                     "--influx-tier", tier)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [
        f"ERROR: --influx-tier: tier name {tier!r} must be letters, digits, '.', '_' or '-' "
        "(it is a folder name under the baselines directory)"]
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("args", [["--influx-tolerance", "-5%"], ["--influx-tolerance=-5%"]],
                         ids=["space", "equals"])
def test_a_negative_tolerance_says_what_a_tolerance_is(bench_project, args):
    result = bench_project.runpytest("-p", "no:cacheprovider", "--influx-bench", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [
        "ERROR: --influx-tolerance -5%: a tolerance is the smallest change the gate calls a "
        "regression, so it is 0 or more (e.g. --influx-tolerance 10%), never negative"]


def test_a_negative_tolerance_in_the_ini_file_is_refused_too(bench_project):
    bench_project.makeini("[pytest]\ninflux_tolerance = -0.05\n")
    result = bench_project.runpytest("-p", "no:cacheprovider", "--influx-bench")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [
        "ERROR: ini option influx_tolerance: --influx-tolerance -0.05: a tolerance is the "
        "smallest change the gate calls a regression, so it is 0 or more (e.g. "
        "--influx-tolerance 10%), never negative"]


def test_a_positive_tolerance_still_works(bench_project):
    result = bench_project.runpytest("-p", "no:cacheprovider", "--influx-tolerance", "5%")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(skipped=1)  # without --influx-bench: skipped, no server


TYPO = '''
import pytest


@pytest.mark.influx_bench(group="writes", tolerence=0.5)
def test_typo(influx_bench):
    pass


@pytest.mark.influx_bench(gruop="writes", colour="red")
def test_two(influx_bench):
    pass
'''


@pytest.mark.parametrize("bench", [True, False], ids=["with-bench", "without"])
def test_unknown_marker_keywords_are_an_error_with_a_did_you_mean(pytester, bench):
    pytester.makeconftest(NO_SERVER)
    pytester.makepyfile(test_typo=TYPO)
    result = pytester.runpytest("-p", "no:cacheprovider", *(["--influx-bench"] if bench else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    takes = " (it takes group, tolerance, info, batch_size, workers)"
    assert errors(result) == [
        "ERROR: test_typo.py::test_typo: @pytest.mark.influx_bench: unknown keyword "
        "'tolerence' (did you mean 'tolerance'?)" + takes,
        "test_typo.py::test_two: @pytest.mark.influx_bench: unknown keyword 'colour'; "
        "unknown keyword 'gruop' (did you mean 'group'?)" + takes]


def test_marker_values_are_checked_too():
    with pytest.raises(BenchDataError) as info:
        check_marker({"tolerance": -0.1, "group": 3, "info": [1]}, where="t.py::a",
                     args=("writes",))
    assert str(info.value) == (
        "t.py::a: @pytest.mark.influx_bench: positional argument(s) ('writes',): it takes "
        "keywords only; group must be a string, not 3; info must be a dict, not [1]; "
        "tolerance is a fraction such as 0.10 (10 %), not -0.1 (it takes group, tolerance, "
        "info, batch_size, workers)")
    check_marker({"group": "g", "tolerance": 0.2, "info": {"k": 1}, "batch_size": 5000,
                  "workers": 4}, where="t.py::a")


def test_marker_info_keywords_become_context(tmp_path):
    from pytest_influxperf.bench.session import BenchSession, BenchSettings

    session = BenchSession(BenchSettings(baselines_dir=tmp_path, tier="t"), dict)
    recorder = session.new_recorder("t.py::a", "a", "g", {
        "group": "g", "info": {"shape": "cpu-only"}, "batch_size": 5000})
    assert recorder.record.info == {"shape": "cpu-only", "batch_size": 5000}


def test_an_unknown_claim_id_is_an_error_with_a_did_you_mean():
    recorder = BenchRecorder("t.py::a", "a")
    with pytest.raises(UnknownClaim) as info:
        recorder.claim("8.2/gzip-ration", 7.0)
    assert str(info.value).startswith(
        "unknown guide claim '8.2/gzip-ration': did you mean 8.2/gzip-ratio")
    assert recorder.record.claims == []
    recorder.claim("8.2/gzip-ratio", 7.0)
    assert [c.claim_id for c in recorder.record.claims] == ["8.2/gzip-ratio"]


CLAIM_TYPO = '''
import pytest


@pytest.mark.influx_bench(group="claims")
def test_claim(influx_bench):
    influx_bench.claim("8.2/gzip-ration", 7.0)
'''

RECORDING_ONLY = '''
import pytest


@pytest.fixture(scope="session")
def influxdb():
    return object()  # claims need no server
'''


def test_an_unknown_claim_fails_the_benchmark(pytester):
    pytester.makeconftest(RECORDING_ONLY)
    pytester.makepyfile(test_claim=CLAIM_TYPO)
    result = pytester.runpytest("-p", "no:cacheprovider", "--influx-bench",
                                "--influx-strict-claims", "--influx-tier", "claims")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown guide claim '8.2/gzip-ration': did you mean "
                                 "8.2/gzip-ratio*"])
