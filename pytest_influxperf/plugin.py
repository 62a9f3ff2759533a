"""pytest glue: options, the ``influx_bench`` marker, fixtures and hooks. Nothing else.

Everything this module calls lives in a module without pytest (servers, client, series,
harness, bench), and is imported inside the fixture or hook that needs it, so that a
project which installs the plugin but never asks for a server pays almost nothing at
start-up.
"""

from __future__ import annotations

import argparse
import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .bench.recorder import BenchRecorder
    from .bench.session import BenchSession
    from .servers import Server

SCALES = ("smoke", "small", "medium", "large")
COMPARE_MODES = ("off", "warn", "fail")
BENCH_HELP = "influx_bench benchmark: run it with `pytest --influx-bench`"

server_key = pytest.StashKey["Server | None"]()
bench_session_key = pytest.StashKey["BenchSession | None"]()
warned_key = pytest.StashKey[set]()


# -- option types: each raises ArgumentTypeError with what to type instead ----------------
def _choice(name: str, choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise argparse.ArgumentTypeError(f"{name} must be one of {', '.join(choices)}, "
                                             f"not {value!r}")
        return value

    return parse


def parse_fraction(value: str) -> float:
    """``10%``, ``0.1`` -> 0.1."""
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.1 or 10%, not {value!r}") \
            from None
    if number < 0:
        raise argparse.ArgumentTypeError(_negative_tolerance(value))
    if not number < 10:  # also NaN
        raise argparse.ArgumentTypeError(f"tolerance {value!r} is out of range (0 to 1000%)")
    return number


def _negative_tolerance(value: str) -> str:
    return (f"--influx-tolerance {value}: a tolerance is the smallest change the gate calls a "
            "regression, so it is 0 or more (e.g. --influx-tolerance 10%), never negative")


#: What argparse takes for an option although it is a negative figure: ``-5%``, ``-0.05``.
_NEGATIVE_FIGURE = re.compile(r"-\d*\.?\d+%?")


def _refuse_negative_tolerance(parser: pytest.Parser) -> None:
    """Make ``--influx-tolerance -5%`` one clear line instead of "expected one argument".

    argparse reads ``-5%`` as an option, not as the value, and fails before any type
    check can say what is wrong. Pytest parses the known options again after loading the
    plugins and before the final parse; the check runs there, on both spellings (also
    ``--influx-tolerance=-5%``), and raises the one-line UsageError pytest prints.
    """
    original = parser.parse_known_and_unknown_args

    def parse(args: Any, namespace: Any = None) -> Any:
        strargs = [os.fspath(a) for a in args]
        for flag, value in zip(strargs, strargs[1:] + [""], strict=True):
            if flag.startswith("--influx-tolerance="):
                value = flag.partition("=")[2]
            elif flag != "--influx-tolerance":
                continue
            if _NEGATIVE_FIGURE.fullmatch(value):
                raise pytest.UsageError(_negative_tolerance(value))
        return original(args, namespace=namespace)

    parser.parse_known_and_unknown_args = parse  # type: ignore[method-assign]


def parse_seed(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--influx-seed takes an integer, not {value!r}") from None


# name, ini name, argparse kwargs
_OPTIONS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("--influx-bench", None, dict(action="store_true", default=False,
                                  help="run tests marked influx_bench (skipped otherwise)")),
    ("--influx-provider", "influx_provider", dict(
        metavar="NAME", type=_choice("--influx-provider", ("auto", "docker", "process", "url")),
        help="how the server is had: auto|docker|process|url (default: auto)")),
    ("--influx-url", "influx_url", dict(metavar="URL", help="an existing server to test")),
    ("--influx-token", None, dict(metavar="TOKEN",
                                  help="token for --influx-url (default: $INFLUX_TOKEN)")),
    ("--influx-org", "influx_org", dict(metavar="ORG", help="organization (InfluxDB 2)")),
    ("--influx-image", "influx_image", dict(metavar="IMAGE",
                                            help="image the docker provider starts")),
    ("--influx-binary", "influx_binary", dict(metavar="PATH",
                                              help="influxd the process provider starts "
                                                   "(default: influxd on PATH)")),
    ("--influx-scale", "influx_scale", dict(metavar="SCALE", type=_choice("--influx-scale", SCALES),
                                            help="data sizes: smoke|small|medium|large "
                                                 "(default: small)")),
    ("--influx-seed", "influx_seed", dict(metavar="N", type=parse_seed,
                                          help="seed of the synthetic data (default: 42)")),
    ("--influx-tier", "influx_tier", dict(metavar="NAME",
                                          help="baseline set results belong to (default: auto)")),
    ("--influx-baselines", "influx_baselines", dict(
        metavar="DIR", help="where baselines live (default: baselines)")),
    ("--influx-save-baseline", None, dict(action="store_true", default=False,
                                          help="store this run as the tier's baseline")),
    ("--influx-compare", "influx_compare", dict(
        metavar="MODE", type=_choice("--influx-compare", COMPARE_MODES),
        help="what a regression against the baseline does: off|warn|fail (default: fail)")),
    ("--influx-tolerance", "influx_tolerance", dict(
        metavar="FRACTION", type=parse_fraction,
        help="smallest change the gate calls a regression, e.g. 10%% (default: 10%%)")),
    ("--influx-strict-claims", None, dict(action="store_true", default=False,
                                          help="fail the run when a guide claim is contradicted")),
    ("--influx-report", None, dict(metavar="PATH", action="append", default=[],
                                   help="write results (.json, .md, .csv); repeatable")),
    ("--influx-plots", "influx_plots", dict(metavar="DIR", help="write PNG charts to DIR")),
]

_DEFAULTS = {"influx_provider": "auto", "influx_scale": "small", "influx_seed": 42,
             "influx_tier": "auto", "influx_baselines": "baselines", "influx_compare": "fail",
             "influx_tolerance": 0.10}


def pytest_addoption(parser: pytest.Parser) -> None:
    _refuse_negative_tolerance(parser)
    group = parser.getgroup("influxperf", "InfluxDB servers and benchmarks (pytest-influxperf)")
    for flag, ini, kwargs in _OPTIONS:
        dest = flag[2:].replace("-", "_")
        group.addoption(flag, dest=dest, **kwargs)
        if ini:
            parser.addini(ini, help=f"default for {flag}", default=None)


def option(config: pytest.Config, name: str) -> Any:
    """Command line first, then the ini twin, then the documented default."""
    value = config.getoption(name, default=None)
    if value is not None:
        return value
    raw = config.getini(name) if _has_ini(name) else None
    if raw:
        parse = next((kw.get("type") for _flag, ini, kw in _OPTIONS if ini == name), None)
        try:
            return parse(raw) if parse else raw
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"ini option {name}: {exc}") from None
    return _DEFAULTS.get(name)


def _has_ini(name: str) -> bool:
    return any(ini == name for _flag, ini, _kw in _OPTIONS)


# -- configuration ---------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "influx_bench(group=None, tolerance=None, info=None, batch_size=None, workers=None): "
        "an InfluxDB benchmark, run only with --influx-bench; tolerance overrides the gate's "
        "floor for this benchmark; info (a dict), batch_size and workers are context; other "
        "keywords are an error")
    config.stash[server_key] = None
    config.stash[bench_session_key] = None
    _check_options(config)
    if config.getoption("influx_bench"):
        config.stash[bench_session_key] = _make_bench_session(config)
        config.pluginmanager.register(BenchHooks(config), "influxperf-bench")
        if config.pluginmanager.hasplugin("benchmark"):
            config.pluginmanager.register(BenchmarkJsonHooks(config), "influxperf-benchmark-json")


def _check_options(config: pytest.Config) -> None:
    """Refuse bad values now, before a server starts and the benchmarks run for nothing
    (a tier that is no folder name used to fail only when the results were compared)."""
    for name in _DEFAULTS:
        option(config, name)  # parses the ini twins, raising UsageError for a bad one
    tier = option(config, "influx_tier")
    if tier and tier != "auto":
        from .bench.records import BenchDataError
        from .bench.tiers import check_tier_name, tier_limits

        try:
            check_tier_name(tier)
            tier_limits(tier, Path(option(config, "influx_baselines")))  # tiers.json
        except BenchDataError as exc:
            raise pytest.UsageError(f"--influx-tier: {exc}") from None


def _check_markers(items: list[pytest.Item]) -> None:
    """Unknown ``influx_bench`` keywords and bad values: one line per benchmark, before
    any server starts (a typo such as ``tolerence=`` would otherwise change nothing)."""
    marked = [(item, item.get_closest_marker("influx_bench")) for item in items]
    marked = [(item, marker) for item, marker in marked if marker is not None]
    if not marked:
        return
    from .bench.recorder import check_marker
    from .bench.records import BenchDataError

    problems = []
    for item, marker in marked:
        try:
            check_marker(marker.kwargs, where=item.nodeid, args=marker.args)
        except BenchDataError as exc:
            problems.append(str(exc))
    if problems:
        raise pytest.UsageError("\n".join(problems))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _check_markers(items)
    if config.getoption("influx_bench"):
        return
    skip = pytest.mark.skip(reason=BENCH_HELP)
    for item in items:
        if item.get_closest_marker("influx_bench") is not None:
            item.add_marker(skip)


def _make_bench_session(config: pytest.Config) -> BenchSession:
    from .bench.session import BenchSession, BenchSettings

    plots = option(config, "influx_plots")
    settings = BenchSettings(
        baselines_dir=Path(option(config, "influx_baselines")),
        tier=option(config, "influx_tier"),
        save_baseline=bool(config.getoption("influx_save_baseline")),
        compare=option(config, "influx_compare"),
        tolerance=option(config, "influx_tolerance"),
        reports=[Path(p) for p in config.getoption("influx_report") or []],
        plots_dir=Path(plots) if plots else None,
        scale=option(config, "influx_scale"),
        seed=option(config, "influx_seed"),
        strict_claims=bool(config.getoption("influx_strict_claims")),
    )
    return BenchSession(settings, environment_provider=lambda: _environment(config))


def _environment(config: pytest.Config) -> dict[str, object]:
    # Scale and seed are added by the bench session from its settings; this is the server.
    server = config.stash.get(server_key, None)
    return server.environment() if server is not None else {}


class BenchHooks:
    """Hooks that exist only when --influx-bench is on (registered in pytest_configure)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        result = yield  # a test that raised is an error, never judged as a regression
        recorder = getattr(item, "funcargs", {}).get("influx_bench")
        if recorder is not None:
            if not recorder.can_remeasure:
                # Confirm-on-fail re-runs the test body unless it said how to re-measure.
                recorder.remeasure(item.runtest)
            _judge(self.config, recorder)
        return result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        session = self.config.stash[bench_session_key]
        if session is not None:
            session.terminal_summary(terminalreporter.write_line)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        bench = self.config.stash[bench_session_key]
        if bench is not None:
            bench.finish_session()
            run = bench.run_outcome()  # the throughput index of the whole run
            if run is not None and run.kind == "regression" \
                    and option(self.config, "influx_compare") == "fail":
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            if bench.failures and session.exitstatus == pytest.ExitCode.OK:
                # A failed save: the summary says it in one line (bench.notes); the exit
                # code tells a CI step that nothing was saved.
                session.exitstatus = pytest.ExitCode.TESTS_FAILED


class BenchmarkJsonHooks:
    """pytest-benchmark interoperation (registered only when pytest-benchmark is active):
    our results join its ``--benchmark-json`` file, the tier and server its machine_info."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_machine_info(self, config: pytest.Config,
                                             machine_info: dict[str, Any]) -> None:
        bench = config.stash[bench_session_key]
        if bench is not None:
            machine_info.update(bench.benchmark_machine_info())

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_json(self, config: pytest.Config, benchmarks: Any,
                                     output_json: dict[str, Any]) -> None:
        bench = config.stash[bench_session_key]
        if bench is not None:
            bench.update_benchmark_json(output_json)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # pytest-benchmark writes no file when none of *its* benchmarks ran; write it the
        # way it would (its own hooks, its own writer) so --benchmark-json still has ours.
        # (Its `json` attribute is an open file up to 5.2 and a path from 5.3 on: only its
        # truthiness and its own save_json are relied on.)
        bs = getattr(self.config, "_benchmarksession", None)  # its only handle on the run
        bench = self.config.stash[bench_session_key]
        if not getattr(bs, "json", None) or getattr(bs, "benchmarks", None) \
                or bench is None or not bench.results:
            return
        hook = self.config.hook
        commit_info = hook.pytest_benchmark_generate_commit_info(config=self.config)
        hook.pytest_benchmark_update_commit_info(config=self.config, commit_info=commit_info)
        output = hook.pytest_benchmark_generate_json(
            config=self.config, benchmarks=[], include_data=True,
            machine_info=bs.get_machine_info(), commit_info=commit_info)
        hook.pytest_benchmark_update_json(config=self.config, benchmarks=[], output_json=output)
        bs.save_json(output)


def _judge(config: pytest.Config, recorder: BenchRecorder) -> None:
    session = config.stash[bench_session_key]
    assert session is not None
    outcome = session.finish_test(recorder)
    if outcome.kind == "regression" and option(config, "influx_compare") == "fail":
        pytest.fail(outcome.message, pytrace=False)
    if outcome.kind in ("regression", "no-baseline", "env-mismatch") and outcome.message:
        # "No baseline" and "environment mismatch" are facts of the whole run: say each once,
        # not once per benchmark (the summary repeats them where they matter).
        warned = config.stash.setdefault(warned_key, set())
        if outcome.kind == "regression" or outcome.message not in warned:
            warned.add(outcome.message)
            warnings.warn(pytest.PytestWarning(outcome.message), stacklevel=1)
    if outcome.kind == "error":  # the message says it all: no traceback of the plugin
        pytest.fail(outcome.message, pytrace=False)
    contradicted = session.claim_failures(recorder.record.nodeid)
    if contradicted and session.settings.strict_claims:
        pytest.fail("guide claim contradicted (--influx-strict-claims): "
                    + "; ".join(f"{c.claim_id}: {c.verdict}" for c in contradicted), pytrace=False)


# -- the server ------------------------------------------------------------------------
def _server_options(config: pytest.Config) -> Any:
    from .servers import ResourceLimits, ServerOptions

    return ServerOptions(
        provider=option(config, "influx_provider"),
        url=option(config, "influx_url"),
        token=config.getoption("influx_token"),  # open_server falls back to $INFLUX_TOKEN
        org=option(config, "influx_org"),
        image=option(config, "influx_image"),
        binary=option(config, "influx_binary"),
        limits=_tier_limits(config) or ResourceLimits(),
    )


def _tier_limits(config: pytest.Config) -> Any:
    tier = option(config, "influx_tier")
    if not tier or tier == "auto":
        return None
    from .bench.tiers import tier_limits
    from .servers import ResourceLimits

    limits = tier_limits(tier, Path(option(config, "influx_baselines")))
    return ResourceLimits(*limits) if limits else None


def _say(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


@pytest.fixture(scope="session")
def influxdb(pytestconfig: pytest.Config) -> Iterator[Server]:
    """The InfluxDB server of this run (one per xdist worker): ``url``, ``api``, ``version``,
    ``provider``, ``resources()``, ``client()``.

    Started on first use, stopped at the end of the session, also when tests fail.

    >>> def test_ping(influxdb):
    ...     assert influxdb.api in ("v1", "v2", "v3")
    """
    from .errors import InfluxPerfError
    from .servers import open_server

    server = None
    try:
        server = open_server(_server_options(pytestconfig), note=lambda s: _say(pytestconfig, s))
        server.start()
    except (InfluxPerfError, ValueError) as exc:
        if server is not None:
            server.stop()
        pytest.fail(f"influxperf: {exc}", pytrace=False)
    pytestconfig.stash[server_key] = server
    _say(pytestconfig, f"influxperf: {server.describe()}")
    try:
        yield server
    finally:
        server.stop()
        pytestconfig.stash[server_key] = None


@pytest.fixture
def influx_database(influxdb: Server, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database (bucket) name for this test, dropped afterwards.

    >>> def test_write(influxdb, influx_database):
    ...     influxdb.client().write("m v=1 1", influx_database)
    """
    from .errors import InfluxPerfError

    influxdb.check_alive()
    name = f"influxperf_{uuid.uuid4().hex[:12]}"
    try:
        influxdb.client().create_database(name)
    except InfluxPerfError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield name
    if influxdb.is_running():
        influxdb.client().drop_database(name)


@pytest.fixture
def influx_series(request: pytest.FixtureRequest) -> Any:
    """Factory of synthetic series: ``influx_series(shape, *, hosts, points, seed, ...)``.

    Generated data is cached under pytest's cache folder, keyed by shape, parameters and
    seed. Shapes: ``simple``, ``cpu-only``, ``devops``, ``iot``, ``custom``.

    >>> def test_gen(influx_series):
    ...     series = influx_series("cpu-only", hosts=10, points=10_000, seed=1)
    ...     assert len(series) == 10_000
    """
    from .series import SeriesFactory

    cache = getattr(request.config, "cache", None)
    cache_dir = Path(cache.mkdir("influxperf-series")) if cache is not None else None
    return SeriesFactory(cache_dir=cache_dir)


@pytest.fixture
def influx_writer(influxdb: Server, influx_database: str) -> Any:
    """Timed writer: ``influx_writer.write(series_or_lines, *, batch_size=5000, workers=1,
    pooled=True, gzip=False, ...)`` -> ``WriteResult``; the database defaults to the test's."""
    from .harness import Writer

    writer = Writer(influxdb, default_database=influx_database)
    yield writer
    writer.close()


@pytest.fixture
def influx_query(influxdb: Server, influx_database: str) -> Any:
    """Timed query runner: ``influx_query.run(query, *, runs=5, warmup=1, ...)`` ->
    ``QueryResult``; the database defaults to the test's."""
    from .harness import QueryRunner

    runner = QueryRunner(influxdb, default_database=influx_database)
    yield runner
    runner.close()


@pytest.fixture
def influx_bench(request: pytest.FixtureRequest, influxdb: Server) -> Any:
    """Records a benchmark's metrics and claims; after the test, compares them with the
    tier's baseline (see ``--influx-compare``).

    >>> @pytest.mark.influx_bench(group="writes")
    ... def test_batch(influx_bench, influx_writer, influx_series):
    ...     influx_bench.record_write(influx_writer.write(influx_series("simple", points=10_000)))
    """
    session = request.config.stash[bench_session_key]
    if session is None:
        pytest.skip(BENCH_HELP)
    marker = request.node.get_closest_marker("influx_bench")
    kwargs = dict(marker.kwargs) if marker is not None else {}
    return session.new_recorder(request.node.nodeid, request.node.name, kwargs.get("group"), kwargs)
