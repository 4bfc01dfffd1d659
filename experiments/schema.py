"""A small declarative checker for scenario files: one clear message per mistake.

Every error names the key (dotted path), the value found and what is allowed, for
example ``transport.mtu_bytes = -4: must be an integer >= 1``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the key and what is allowed."""


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               list: "an array", dict: "a table"}


@dataclass(frozen=True)
class Field:
    """One key of a table: its type, default and constraints."""

    type: type
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: Callable[[], list] | list | None = None
    help: str = ""

    def check(self, path: str, value):
        expected = self.type
        ok = isinstance(value, expected) and not (expected in (int, float) and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            raise ScenarioError(f"{path} = {value!r}: must be {_TYPE_NAMES.get(expected, expected.__name__)}")
        if self.minimum is not None and value < self.minimum:
            raise ScenarioError(f"{path} = {value!r}: must be {_TYPE_NAMES[expected]} >= {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ScenarioError(f"{path} = {value!r}: must be {_TYPE_NAMES[expected]} <= {self.maximum}")
        if self.choices is not None:
            allowed = self.choices() if callable(self.choices) else self.choices
            if value not in allowed:
                raise ScenarioError(f"{path} = {value!r}: unknown; allowed: {', '.join(map(str, allowed))}")
        return value


def check_table(path: str, table, fields: dict[str, Field], *, extra_ok: bool = False) -> dict:
    """Check ``table`` against ``fields``; return it with defaults filled in.

    With ``extra_ok`` unknown keys are returned untouched (checked by the caller).
    """
    where = path or "the scenario"
    if not isinstance(table, dict):
        raise ScenarioError(f"{where} = {table!r}: must be a table")
    out = {}
    for key, value in table.items():
        if key in fields:
            out[key] = fields[key].check(f"{path}.{key}" if path else key, value)
        elif extra_ok:
            out[key] = value
        else:
            allowed = ", ".join(sorted(fields))
            name = f"{path}.{key}" if path else key
            raise ScenarioError(f"unknown key {name!r}; allowed in {where}: {allowed}")
    for key, field in fields.items():
        if key not in out:
            if field.required:
                name = f"{path}.{key}" if path else key
                raise ScenarioError(f"missing key {name!r} ({field.help or _TYPE_NAMES[field.type]})")
            if field.default is not None:
                out[key] = field.default
    return out
