"""A small server-side validator for the application forms, a deliberate subset of JSON Schema
(draft 2020-12): an object with ``properties`` and ``required``; property types string, integer, number,
boolean; ``enum``, ``minLength``, ``maxLength``, ``pattern``, ``minimum``, ``maximum`` and ``format: date``.
Anything else in a schema is refused when the schema is saved, so a form never promises a check the server
does not make."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _

_TYPES = {"string", "integer", "number", "boolean"}
_KEYWORDS = {"type", "title", "description", "enum", "minLength", "maxLength", "pattern", "minimum"}
_KEYWORDS |= {"maximum", "format", "default"}
_ROOT_KEYWORDS = {"$schema", "type", "title", "description", "properties", "required", "additionalProperties"}


def schema_problems(schema: dict[str, Any]) -> list[str]:
    """What makes ``schema`` unusable as a form (empty when it is fine)."""
    if not schema:
        return []
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append(_("The form schema must be of type object."))
    problems += [_("Unsupported keyword: %(k)s.") % {"k": key} for key in set(schema) - _ROOT_KEYWORDS]
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return [*problems, _("properties must be an object.")]
    for name, spec in properties.items():
        if not isinstance(spec, dict) or spec.get("type") not in _TYPES:
            problems.append(_("Field %(f)s needs a type: string, integer, number or boolean.") % {"f": name})
            continue
        for key in set(spec) - _KEYWORDS:
            problems.append(_("Field %(f)s: unsupported keyword %(k)s.") % {"f": name, "k": key})
        if "pattern" in spec:
            try:
                re.compile(spec["pattern"])
            except re.error:
                problems.append(_("Field %(f)s: the pattern is not a regular expression.") % {"f": name})
    for name in schema.get("required", []):
        if name not in properties:
            problems.append(_("Required field %(f)s is not among the properties.") % {"f": name})
    return problems


def _check(name: str, spec: dict[str, Any], value: Any) -> str | None:
    kind = spec["type"]
    if kind == "string" and not isinstance(value, str):
        return _("Must be text.")
    if kind == "boolean" and not isinstance(value, bool):
        return _("Must be true or false.")
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return _("Must be a whole number.")
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return _("Must be a number.")
    if "enum" in spec and value not in spec["enum"]:
        return _("Must be one of: %(choices)s.") % {"choices": ", ".join(str(c) for c in spec["enum"])}
    if kind == "string":
        if len(value) < spec.get("minLength", 0):
            return _("Must be at least %(n)s characters long.") % {"n": spec["minLength"]}
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            return _("Must be at most %(n)s characters long.") % {"n": spec["maxLength"]}
        if "pattern" in spec and not re.search(spec["pattern"], value):
            return _("Is not in the expected format.")
        if spec.get("format") == "date":
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                return _("Must be a date written YYYY-MM-DD.")
    if kind in {"integer", "number"}:
        if "minimum" in spec and value < spec["minimum"]:
            return _("Must be at least %(n)s.") % {"n": spec["minimum"]}
        if "maximum" in spec and value > spec["maximum"]:
            return _("Must be at most %(n)s.") % {"n": spec["maximum"]}
    return None


def form_errors(schema: dict[str, Any], data: Any) -> dict[str, list[str]]:
    """The errors of ``data`` against ``schema``, by field name ("__all__" for the form as a whole)."""
    if not isinstance(data, dict):
        return {"__all__": [_("The form data must be an object.")]}
    properties: dict[str, Any] = schema.get("properties", {})
    errors: dict[str, list[str]] = {}
    for name in schema.get("required", []):
        if data.get(name) in (None, ""):
            errors[name] = [_("This field is required.")]
    if schema.get("additionalProperties") is False:
        for name in set(data) - set(properties):
            errors[name] = [_("This field is not part of the form.")]
    for name, value in data.items():
        if name in errors or name not in properties or value is None:
            continue
        message = _check(name, properties[name], value)
        if message:
            errors[name] = [message]
    return errors
