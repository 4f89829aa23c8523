# SPDX-License-Identifier: Apache-2.0
"""Request bodies as JSON objects, with limits checked before and while parsing.

RFC 8259: "An implementation may set limits on the maximum depth of nesting", "on the range
and precision of numbers" and "The names within an object SHOULD be unique"; "the behavior of
software that receives [...] names that are not unique is unpredictable", so two parsers (the
EHR's and this one) could read different values from one body.  Every such body is refused with
:class:`InvalidRequest`, as is anything that is not a JSON object.  The size limit is the app's
``MAX_CONTENT_LENGTH``, checked by the view before the body reaches this module.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import InvalidRequest

__all__ = ["MAX_DEPTH", "load_json"]

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; an appointment-book request with a Patient
and a Bundle of Appointments needs about ten levels."""

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
"""Strings (skipped whole, so brackets inside them do not count) and brackets."""
_OPEN = frozenset(b"[{")


class _Refused(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _too_deep(data: bytes) -> bool:
    """Whether ``data`` nests deeper than :data:`MAX_DEPTH`, found without recursion.

    For valid JSON the count is exact; for anything else it only decides which 400 is given.
    """
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if len(token) != 1:
            continue
        if token[0] in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused("The request body has a duplicate key in an object.")
    return result


def _constant(_name: str) -> float:
    raise _Refused("The request body is not JSON (NaN and Infinity are not JSON numbers).")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("The request body is not JSON (a number is out of range).")
    return value


def load_json(data: bytes) -> dict[str, Any]:
    """The request body as a JSON object.

    :raises InvalidRequest: for a body that is not UTF-8 JSON, nests deeper than
        :data:`MAX_DEPTH`, repeats a key, holds NaN, Infinity, an out-of-range number or an
        unpaired surrogate, or is not an object; the message says which, never the content.
    """
    if _too_deep(data):
        raise InvalidRequest(f"The request body is nested too deeply (at most {MAX_DEPTH}).")
    try:
        body = json.loads(
            data, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float
        )
        # A \ud800 escape without its pair decodes to a str no UTF-8 text can hold.
        json.dumps(body, ensure_ascii=False).encode()
    except _Refused as exc:
        raise InvalidRequest(exc.message) from None
    except (ValueError, RecursionError):
        raise InvalidRequest("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body
