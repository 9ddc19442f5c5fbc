"""JSON from strangers, parsed with limits: size, nesting depth and the length of numbers.

Python's `json` recurses once per level of nesting (60 KB of `[[[...` is a RecursionError) and
turns digits into ints in quadratic time (and refuses more than 4300 digits with a ValueError).
`loads` checks the depth first, bounds every number, refuses NaN and Infinity, and raises only
`BadJson` (a `ValueError`) with a message fit to send back to the client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 32
MAX_NUMBER = 40  # characters of one number
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class BadJson(ValueError):
    """Input that is not JSON, or JSON beyond the limits."""


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in `text` (brackets inside strings do not count)."""
    depth = deepest = 0
    for char in _STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(
    data: str | bytes,
    *,
    max_size: int = 64 * 1024,
    max_depth: int = MAX_DEPTH,
    max_number: int = MAX_NUMBER,
) -> Any:
    """Parse `data` (bytes must be UTF-8) within the limits; `BadJson` otherwise."""
    if len(data) > max_size:
        raise BadJson(f"too large (at most {max_size} bytes)")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("not UTF-8") from None
    if nesting_depth(data) > max_depth:
        raise BadJson(f"nested too deep (at most {max_depth} levels)")

    def number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
        def parse(text: str) -> Any:
            if len(text) > max_number:
                raise BadJson(f"a number is too long (at most {max_number} characters)")
            return kind(text)

        return parse

    def constant(text: str) -> Any:
        raise BadJson(f"{text} is not JSON")

    try:
        return json.loads(
            data, parse_int=number(int), parse_float=number(float), parse_constant=constant
        )
    except BadJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadJson(f"not JSON ({str(exc)[:100]})") from None
