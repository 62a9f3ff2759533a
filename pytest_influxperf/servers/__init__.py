"""Server providers behind one handle, and the ``auto`` choice between them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from ..errors import ServerUnavailable
from .base import ResourceLimits, Server, ServerResources

PROVIDERS = ("auto", "docker", "process", "url")

__all__ = ["PROVIDERS", "ResourceLimits", "Server", "ServerOptions", "ServerResources",
           "open_server"]


@dataclasses.dataclass(frozen=True)
class ServerOptions:
    """How the user asked for a server (from pytest options, or built by hand)."""

    provider: str = "auto"
    url: str | None = None
    token: str | None = dataclasses.field(default=None, repr=False)
    org: str | None = None
    image: str | None = None
    binary: str | None = None
    limits: ResourceLimits = ResourceLimits()
    startup_timeout: float = 60.0


NO_SERVER_HELP = """no InfluxDB server could be had. Any one of these works:
  1. an existing server: --influx-url http://127.0.0.1:8086 (token: --influx-token or INFLUX_TOKEN)
  2. Docker: start the engine (sudo dockerd, or scripts/start-dockerd.sh), then
     `influxperf image build-local`, and run with --influx-provider docker
  3. a local influxd on PATH: apt-get install influxdb (or --influx-binary PATH)"""


def open_server(options: ServerOptions, *, note: Callable[[str], None] | None = None) -> Server:
    """Build the (not yet started) server the options ask for.

    ``auto`` takes the URL if one is given, else Docker if an engine answers and an image
    is present, else a local ``influxd``. Why Docker was passed over is told once through
    ``note`` so a user who expected containers knows.
    """
    if options.provider not in PROVIDERS:
        raise ValueError(f"--influx-provider must be one of {', '.join(PROVIDERS)}")
    token = options.token or os.environ.get("INFLUX_TOKEN") or None
    if options.provider == "url" or (options.provider == "auto" and options.url):
        if not options.url:
            raise ServerUnavailable("--influx-provider url needs --influx-url URL")
        from .url import UrlServer

        return UrlServer(options.url, token=token, org=options.org)
    if options.provider == "docker":
        return _docker(options, require=True)  # type: ignore[return-value]
    if options.provider == "process":
        return _process(options)
    server = _docker(options, require=False, note=note)
    if server is not None:
        return server
    from .process import find_binary

    if find_binary(options.binary) is None:
        raise ServerUnavailable(NO_SERVER_HELP)
    return _process(options)


def _process(options: ServerOptions) -> Server:
    from .process import ProcessServer

    return ProcessServer(options.binary, limits=options.limits,
                         startup_timeout=options.startup_timeout)


def _docker(options: ServerOptions, *, require: bool,
            note: Callable[[str], None] | None = None) -> Server | None:
    from . import docker

    ok, reason = docker.docker_available()
    image = docker.local_image_present(options.image) if ok else None
    if ok and image is None:
        reason = docker.missing_image_message(options.image)
    if image is None:
        if require:
            raise ServerUnavailable(f"--influx-provider docker: {reason}")
        if note is not None:
            note(f"influxperf: Docker not used ({reason}); using the local influxd process")
        return None
    return docker.DockerServer(image, limits=options.limits,
                               startup_timeout=options.startup_timeout)
