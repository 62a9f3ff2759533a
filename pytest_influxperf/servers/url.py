"""The ``url`` provider: a server someone else runs. Nothing is started or stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import register_secret
from .base import Server

if TYPE_CHECKING:
    from typing_extensions import Self


class UrlServer(Server):
    """An existing InfluxDB (or a cluster's load balancer) at ``url``.

    The token is kept out of every repr, message and report (:func:`errors.redact`).
    """

    provider = "url"

    def __init__(self, url: str, *, token: str | None = None, org: str | None = None) -> None:
        super().__init__()
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"--influx-url must start with http:// or https://, not {url!r}")
        register_secret(token)
        self.url = url.rstrip("/")
        self.token = token
        self.org = org

    def start(self) -> Self:
        from ..client import detect_api

        self.api, self.version = detect_api(self.url, token=self.token)
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def is_running(self) -> bool:
        from ..client import detect_api
        from ..errors import ServerUnavailable

        try:
            detect_api(self.url, token=self.token, timeout=3.0)
        except ServerUnavailable:
            return False
        return True
