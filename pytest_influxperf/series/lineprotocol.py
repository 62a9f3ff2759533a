"""Line protocol, one point at a time: escaping, encoding, and a parser to check both.

The rules follow the InfluxDB line protocol reference, narrowed to what a real 1.x server
reads back unchanged (checked against influxd 1.6.7 by ``tests/test_lineprotocol_server.py``):

- measurement: ``,`` and space are escaped with a backslash;
- tag keys, tag values, field keys: ``,``, ``=`` and space are escaped;
- string field values are double-quoted, with ``"`` and ``\\`` escaped;
- integers carry the ``i`` suffix, floats are written so they read back bit for bit
  (``repr``), booleans as ``true``/``false``.

What line protocol cannot carry is refused with :class:`EncodingError` naming the part and
the value, never written half-right: NaN and infinities, empty names and empty tag values,
a newline in a name or tag, a measurement starting with ``#`` (the line would be a comment),
the key ``time`` (the server drops it), a measurement or field key starting with a tab or
NUL (stripped as whitespace), integers outside int64, and a backslash in a name
that sits at its end or before one of ``\\ , = " space``: InfluxDB 1.x keeps such
backslashes literally while its tokenizer treats them as escapes, so the point would be
split differently from what was meant.

This module is the reference for the fast vectorised renderer in ``render.py``: both must
produce the same bytes (``tests/test_series_shapes.py`` checks it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Union

from ..errors import EncodingError

FieldValue = Union[float, int, bool, str]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

PRECISIONS: dict[str, int] = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING_ESCAPES = str.maketrans({'"': '\\"', "\\": "\\\\"})
# A backslash is kept literally by the 1.x parser only when an ordinary character follows.
_BAD_BACKSLASH = re.compile(r'\\(?=[\\,= "]|$)')


def _check_name(kind: str, name: object, *, allow_hash: bool = True, section_start: bool = False) -> str:
    """Refuse a measurement, tag key/value or field key that line protocol cannot carry."""
    if not isinstance(name, str):
        raise EncodingError(f"{kind} {name!r} is a {type(name).__name__}, not a str")
    if name == "":
        raise EncodingError(f"{kind} is empty: line protocol has no way to write an empty {kind}")
    if "\n" in name:
        raise EncodingError(f"{kind} {name!r} contains a newline, which ends a line-protocol line")
    if section_start and name[0] in "\t\x00":
        raise EncodingError(f"{kind} {name!r} starts with a tab or NUL, which InfluxDB strips as "
                            "whitespace at the start of a line or of the field set")
    if not allow_hash and name.startswith("#"):
        raise EncodingError(f"{kind} {name!r} starts with '#': the server reads the line as a comment")
    if _BAD_BACKSLASH.search(name):
        raise EncodingError(
            f"{kind} {name!r} has a backslash at its end or before one of \\ , = \" space: "
            "InfluxDB 1.x would read it differently; remove or replace that backslash"
        )
    return name


def escape_measurement(name: str) -> str:
    """Escape a measurement name (commas, spaces) after checking it can be carried."""
    return _check_name("measurement", name, allow_hash=False, section_start=True).translate(_MEASUREMENT_ESCAPES)


def escape_key(name: str, kind: str = "key", *, section_start: bool = False) -> str:
    """Escape a tag key, tag value or field key (commas, equals signs, spaces)."""
    return _check_name(kind, name, section_start=section_start).translate(_KEY_ESCAPES)


def escape_string_value(value: str) -> str:
    """A string field value, double-quoted with ``"`` and ``\\`` escaped."""
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def format_field_value(key: str, value: FieldValue) -> str:
    """Render one field value by its Python type: bool, int (``i``), float, str."""
    # bool first: it is a subclass of int.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise EncodingError(f"field {key!r}: integer {value} is outside int64")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EncodingError(f"field {key!r}: {value!r} is not finite; line protocol has no NaN or infinity")
        # repr is the shortest text that reads back to the same double.
        return repr(value)
    if isinstance(value, str):
        return escape_string_value(value)
    raise EncodingError(f"field {key!r}: value {value!r} of type {type(value).__name__} "
                        "is not one of float, int, bool, str")


def format_tag(key: str, value: str) -> str:
    """``key=value`` for one tag, escaped, or :class:`EncodingError` if it cannot be written."""
    if key == "time":
        raise EncodingError(f"tag key 'time' (value {value!r}) is refused by InfluxDB; rename it")
    if isinstance(value, str) and value == "":
        raise EncodingError(f"tag {key!r} has an empty value; leave the tag out instead")
    return f"{escape_key(key, 'tag key')}={escape_key(value, f'tag {key!r} value')}"


def format_field_key(key: str) -> str:
    """A field key, escaped, or :class:`EncodingError` if it cannot be written."""
    if key == "time":
        raise EncodingError("field key 'time' is refused by InfluxDB; rename it")
    # Any field may come first in a line, where a leading tab or NUL would be stripped.
    return escape_key(key, "field key", section_start=True)


def encode_point(measurement: str, tags: Mapping[str, str], fields: Mapping[str, FieldValue],
                 timestamp: int | None = None) -> str:
    """One line of line protocol (no newline), tags sorted by key as the server prefers.

    >>> encode_point("cpu load", {"host": "a,b"}, {"v": 1, "ok": True}, 10)
    'cpu\\\\ load,host=a\\\\,b v=1i,ok=true 10'
    """
    head = escape_measurement(measurement)
    parts = [head]
    for key in sorted(tags):
        parts.append(format_tag(key, tags[key]))
    if not fields:
        raise EncodingError(f"measurement {measurement!r}: a point needs at least one field")
    rendered = [f"{format_field_key(key)}={format_field_value(key, value)}" for key, value in fields.items()]
    line = ",".join(parts) + " " + ",".join(rendered)
    if timestamp is not None:
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise EncodingError(f"timestamp {timestamp!r} is not an integer")
        if not INT64_MIN <= timestamp <= INT64_MAX:
            raise EncodingError(f"timestamp {timestamp} is outside int64")
        line += f" {timestamp}"
    return line


# --------------------------------------------------------------------------- parsing
# A small, strict parser for the dialect above: tests use it to read back what the
# generators wrote without a server, and to check encode_point against itself.


def _scan(line: str, i: int, stops: str) -> int:
    """Index of the first unescaped character of ``stops`` at or after ``i`` (or the end).

    As in InfluxDB's tokenizer, a backslash always takes the next character with it.
    """
    while i < len(line) and line[i] not in stops:
        i += 2 if line[i] == "\\" else 1
    return min(i, len(line))


def _split_unescaped(text: str, sep: str) -> list[str]:
    """Split on ``sep`` where it is not escaped."""
    out, i = [], 0
    while True:
        j = _scan(text, i, sep)
        out.append(text[i:j])
        if j >= len(text):
            return out
        i = j + 1


def _unescape(text: str) -> str:
    return re.sub(r'\\([,= ])', r"\1", text)


def _parse_field_value(raw: str) -> FieldValue:
    if raw.startswith('"'):
        return re.sub(r'\\([\\"])', r"\1", raw[1:-1])
    if raw in ("t", "T", "true", "True", "TRUE"):
        return True
    if raw in ("f", "F", "false", "False", "FALSE"):
        return False
    if raw.endswith("i"):
        return int(raw[:-1])
    return float(raw)


def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, FieldValue], int | None]:
    """Parse one line written in this module's dialect into its four parts.

    Double quotes matter only around a field value, as in InfluxDB's own scanner.

    >>> parse_line('m,k=v a=1i,b="x" 5')
    ('m', {'k': 'v'}, {'a': 1, 'b': 'x'}, 5)
    """
    end = _scan(line, 0, " ")
    head, *tag_parts = _split_unescaped(line[:end], ",")
    measurement = _unescape(head)
    tags = {}
    for part in tag_parts:
        eq = _scan(part, 0, "=")
        tags[_unescape(part[:eq])] = _unescape(part[eq + 1:])
    fields: dict[str, FieldValue] = {}
    i = end + 1
    while True:
        eq = _scan(line, i, "=")
        if eq >= len(line):
            raise ValueError(f"field without '=' in {line!r}")
        key = _unescape(line[i:eq])
        i = eq + 1
        if line[i:i + 1] == '"':
            j = i + 1
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= len(line):
                raise ValueError(f"unterminated string value in {line!r}")
            stop = j + 1
        else:
            stop = _scan(line, i, ", ")
        fields[key] = _parse_field_value(line[i:stop])
        i = stop + 1
        if stop >= len(line) or line[stop] == " ":
            break
    ts = line[i:] if stop < len(line) else ""
    return measurement, tags, fields, int(ts) if ts else None


# -- cutting a body into points, as the server does ---------------------------------
# influxd's scanLine: after the first space (the fields), a double quote opens or closes a
# string only in a value position (more '=' than ',' seen outside strings), an escaped
# character is skipped, and a newline ends the point only outside a string. Only the
# characters that matter are visited, so a body of 5,000 lines is cut in milliseconds.
_TOKENS = re.compile(rb'\\.|[ =,"\n]', re.DOTALL)


def split_points(body: bytes) -> list[bytes]:
    """The points of a line-protocol body, one ``bytes`` each, blank and ``#`` lines left out.

    A newline inside a quoted string field value does not end a point.
    """
    if b'"' not in body:  # fast path: every newline ends a point
        return [line for line in body.split(b"\n") if _is_point(line)]
    points: list[bytes] = []
    start, fields, quoted, equals, commas = 0, False, False, 0, 0
    for token in _TOKENS.finditer(body):
        char = token.group()
        if len(char) == 2:
            continue
        if char == b" ":
            fields = True
        elif fields and not quoted and char == b"=":
            equals += 1
        elif fields and not quoted and char == b",":
            commas += 1
        elif fields and char == b'"' and equals > commas:
            quoted = not quoted
        elif char == b"\n" and not quoted:
            segment = body[start:token.start()]
            if _is_point(segment):
                points.append(segment)
            start, fields, equals, commas = token.end(), False, 0, 0
    if _is_point(body[start:]):
        points.append(body[start:])
    return points


def _is_point(segment: bytes) -> bool:
    stripped = segment.strip()
    return bool(stripped) and not stripped.startswith(b"#")


def count_points(body: bytes) -> int:
    """How many points the server will read in ``body`` (see :func:`split_points`)."""
    if b'"' not in body and b"#" not in body:
        return sum(1 for line in body.split(b"\n") if line.strip())
    return len(split_points(body))
