# SPDX-License-Identifier: Apache-2.0
"""create_app builds the code-word services with the production argon2id parameters."""

from __future__ import annotations

from flask import Flask

from plugin.codeword.alerts import Alerter
from plugin.codeword.hashing import WordHasher
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.policies import PolicyStore
from plugin.codeword.services import CodewordService
from plugin.registry import get_service


def test_services_are_registered(flask_app: Flask) -> None:
    service = get_service(CodewordService, flask_app)
    assert isinstance(service, CodewordService)
    assert service.policies is get_service(PolicyStore, flask_app)
    assert isinstance(get_service(Alerter, flask_app), Alerter)
    hasher = get_service(WordHasher, flask_app)
    assert (hasher.params["time_cost"], hasher.params["memory_cost"],
            hasher.params["parallelism"]) == (3, 65536, 2)  # fmt: skip
    assert service.limits.staff_limit == (30, 600)
    assert service.limits.client_limit == (20, 3600)
    assert service.policies.get("nobody") == VerificationPolicy()
