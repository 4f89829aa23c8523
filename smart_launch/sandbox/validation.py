# SPDX-License-Identifier: Apache-2.0
"""Validation of incoming resources with ``fhir.resources.R4B``.

The pydantic models check structure, cardinality and primitive formats; they do not check
codes bound to a *required* value set, so this module also walks the parsed model and compares
every code element against the ``enum_values`` the model declares (value sets marked as
extensible with ``+`` are skipped).  Every problem is reported with a FHIRPath-like location
such as ``Appointment.participant[0].status``.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel
from pydantic import ValidationError

__all__ = ["InvalidResource", "validate_resource"]

_MAX_REPORTED = 10


class InvalidResource(ValueError):
    """The body is not a valid FHIR R4 resource of the expected type."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))


def _location(resource_type: str, loc: tuple[int | str, ...]) -> str:
    text = resource_type
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def validate_resource(resource_type: str, body: Any) -> None:
    """Validate ``body`` as a ``resource_type``.

    :raises InvalidResource: naming each offending element.
    """
    if not isinstance(body, dict):
        raise InvalidResource([(resource_type, "The body must be a JSON object.")])
    declared = body.get("resourceType")
    if declared != resource_type:
        raise InvalidResource(
            [(f"{resource_type}.resourceType", f"Expected '{resource_type}', got '{declared}'.")]
        )
    model_class = get_fhir_model_class(resource_type)
    try:
        model = model_class.model_validate(body)
    except ValidationError as exc:
        raise InvalidResource(
            [
                (_location(resource_type, tuple(error["loc"])), str(error["msg"]).split("\n")[0])
                for error in exc.errors()[:_MAX_REPORTED]
            ]
        ) from None
    problems: list[tuple[str, str]] = []
    _check_codes(model, resource_type, problems)
    if problems:
        raise InvalidResource(problems[:_MAX_REPORTED])


def _check_codes(model: BaseModel, where: str, problems: list[tuple[str, str]]) -> None:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        label = info.alias or name
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        allowed = extra.get("enum_values")
        if isinstance(allowed, list) and "+" not in allowed:
            codes = value if isinstance(value, list) else [value]
            for index, code in enumerate(codes):
                if isinstance(code, str) and code not in allowed:
                    at = f"{where}.{label}" + (f"[{index}]" if isinstance(value, list) else "")
                    problems.append((at, f"'{code}' is not one of {', '.join(map(str, allowed))}."))
        if isinstance(value, BaseModel):
            _check_codes(value, f"{where}.{label}", problems)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _check_codes(item, f"{where}.{label}[{index}]", problems)
