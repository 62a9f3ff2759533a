"""Hypothesis strategies for points that line protocol can carry (for property tests).

Names mix unicode with the characters that need escaping (commas, spaces, equals signs,
quotes, backslashes); values cover every field type, int64's extremes included. Only
points :func:`lineprotocol.encode_point` accepts are built, so a test can write them to a
real server and expect them back unchanged. Importing this module imports hypothesis.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .lineprotocol import _BAD_BACKSLASH, INT64_MAX, INT64_MIN

TRICKY = [",", " ", "=", '"', "'", "\\", "ü", "😀", "\t", "#", "\u00a0"]

# No surrogates (not valid UTF-8) and no newline (never allowed in a name).
_chars = st.one_of(
    st.sampled_from(TRICKY),
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
)


def _encodable(name: str) -> bool:
    return not _BAD_BACKSLASH.search(name) and name != "time"


def names(max_size: int = 10) -> st.SearchStrategy[str]:
    """Measurement names, tag keys, tag values and field keys that can be written."""
    return st.text(_chars, min_size=1, max_size=max_size).filter(_encodable)


def measurements() -> st.SearchStrategy[str]:
    """Measurement names (no leading ``#``: the line would be a comment)."""
    return names().filter(lambda n: n[0] not in "#\t\x00")


def field_keys() -> st.SearchStrategy[str]:
    """Field keys (no leading tab or NUL: stripped as whitespace)."""
    return names().filter(lambda n: n[0] not in "\t\x00")


def field_values() -> st.SearchStrategy[Any]:
    """Floats (finite), int64 (extremes included), booleans, unicode strings (any character)."""
    return st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(INT64_MIN, INT64_MAX),
        st.sampled_from([INT64_MIN, INT64_MAX, 0, -1, 2**53 + 1]),
        st.booleans(),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    )


@st.composite
def points(draw: st.DrawFn, *, min_ts: int = INT64_MIN + 2, max_ts: int = INT64_MAX - 2,
           max_tags: int = 3, max_fields: int = 4) -> tuple[str, dict[str, str], dict[str, Any], int]:
    """``(measurement, tags, fields, timestamp)``; tag and field keys never collide."""
    measurement = draw(measurements())
    tags = draw(st.dictionaries(names(), names(), max_size=max_tags))
    fields = draw(st.dictionaries(field_keys().filter(lambda k: k not in tags), field_values(),
                                  min_size=1, max_size=max_fields))
    ts = draw(st.integers(min_ts, max_ts))
    return measurement, tags, fields, ts
