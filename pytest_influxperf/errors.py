"""Errors the plugin raises: each one says what went wrong and what to do about it.

Every message is written for the person running pytest, so none of them may carry a
token: build messages with :func:`redact` around anything that came from the server or
from user configuration.
"""

from __future__ import annotations

import re

_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret (a token, a password) so :func:`redact` hides it everywhere.

    A v1 ``user:password`` token also registers the password alone, since servers and
    URLs may show it without the user name.
    """
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)
        _user, sep, password = secret.partition(":")
        if sep and len(password) >= 4:
            _SECRETS.add(password)


_TOKEN_PATTERNS = [
    re.compile(r"(Authorization:\s*(?:Token|Bearer|Basic)\s+)\S+", re.IGNORECASE),
    re.compile(r"([?&](?:p|token|password)=)[^&\s]+", re.IGNORECASE),
]


def redact(text: object) -> str:
    """Return ``str(text)`` with every registered secret and auth header value masked."""
    out = str(text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        out = out.replace(secret, "***")
    for pattern in _TOKEN_PATTERNS:
        out = pattern.sub(r"\1***", out)
    return out


class InfluxPerfError(Exception):
    """Base class: a readable, redacted message and, where there is one, the server's log tail."""

    def __init__(self, message: str, *, log_tail: str | None = None) -> None:
        self.log_tail = log_tail
        text = redact(message)
        if log_tail:
            text += "\n--- last lines of the server log ---\n" + redact(log_tail.rstrip())
        super().__init__(text)


class ServerUnavailable(InfluxPerfError):
    """No server could be had (no engine, no binary, no URL), or it never became ready."""


class ServerStartError(InfluxPerfError):
    """A server was started but did not become ready; carries its log tail."""


class ServerExited(InfluxPerfError):
    """The server died while a test was using it."""


class AuthError(InfluxPerfError):
    """The server answered 401/403: a wrong or missing token."""


class DatabaseNotFound(InfluxPerfError):
    """A write or query named a database (bucket) the server does not have."""


class QueryError(InfluxPerfError):
    """The server refused a query, also when it said so inside a 200 answer."""


class WriteError(InfluxPerfError):
    """A write failed as a whole (not a partial write, which is counted instead)."""

    def __init__(self, message: str, *, status: int | None = None, log_tail: str | None = None):
        self.status = status
        super().__init__(message, log_tail=log_tail)


class EncodingError(InfluxPerfError, ValueError):
    """A value that line protocol cannot carry (NaN, an empty tag value, a newline in a tag)."""
