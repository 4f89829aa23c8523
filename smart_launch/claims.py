# SPDX-License-Identifier: Apache-2.0
"""The one check of a JWT's registered claims (RFC 7519 section 4.1), on joserfc's registry.

Used for the EHR's id_token and for the CDS Hooks JWT: ``iss`` must equal the expected
issuer, ``aud`` must be or contain the expected audience, ``exp`` must lie in the future and
``iat``/``nbf`` (when present) must not, each with a small leeway for clock skew.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from typing import Literal

from joserfc.errors import ExpiredTokenError
from joserfc.errors import InvalidClaimError
from joserfc.errors import MissingClaimError
from joserfc.jwt import ClaimsOption
from joserfc.jwt import JWTClaimsRegistry

__all__ = ["ClaimsRejected", "check_claims"]

Problem = Literal["missing", "invalid", "expired", "future"]


class ClaimsRejected(Exception):
    """A claim is missing or wrong; ``claim`` names it and ``problem`` says how."""

    def __init__(self, claim: str, problem: Problem) -> None:
        self.claim = claim
        self.problem = problem
        super().__init__(f"{claim}: {problem}")


def check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    required: Iterable[str] = (),
    leeway: int = 30,
    now: float | None = None,
) -> None:
    """Check ``iss``, ``aud``, ``exp`` (always required), ``iat``, ``nbf`` and ``required``.

    :raises ClaimsRejected: for the first claim that fails.
    """
    options: dict[str, ClaimsOption] = {name: {"essential": True} for name in required}
    options["iss"] = {"essential": True, "value": issuer}
    options["aud"] = {"essential": True, "value": audience}
    options["exp"] = {"essential": True}
    current = int(time.time() if now is None else now)
    registry = JWTClaimsRegistry(now=current, leeway=leeway, **options)
    try:
        registry.validate(dict(claims))
    except MissingClaimError as exc:
        raise ClaimsRejected(str(exc.claim).split(",")[0], "missing") from exc
    except ExpiredTokenError as exc:
        raise ClaimsRejected("exp", "expired") from exc
    except InvalidClaimError as exc:
        claim = str(exc.claim)
        value = claims.get(claim)
        future = claim in {"iat", "nbf"} and isinstance(value, int | float)
        raise ClaimsRejected(claim, "future" if future else "invalid") from exc
