"""The one JSON codec of the API models: snake_case fields in Python, camelCase on the wire.

A model is a frozen dataclass deriving from :class:`WireModel`. Its type hints drive the conversion
(``str``, ``int``, ``float``, ``bool``, ``datetime``, ``Roles``, nested models, ``tuple[X, ...]``,
``Mapping[str, Any]``, each maybe ``| None``), so no model writes its own (de)serialiser. ``None`` means
unset: it is never sent (no ``null``); a ``null`` received is read as unset. Fields LTIAAS sends that a
model does not know, or whose value has an unexpected type, are kept in ``.extra`` under their wire name
and sent back as they came, so nothing is lost in either direction.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from ..roles import Roles

__all__ = ["WireModel", "camel", "wire_datetime"]

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


def camel(name: str) -> str:
    """``score_maximum`` -> ``scoreMaximum``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_datetime(value: datetime) -> str:
    """ISO 8601 with ``Z`` for UTC; a naive datetime is refused (LTIAAS needs an offset)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes sent to LTIAAS must be timezone-aware (e.g. datetime.now(UTC)).")
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class _Mismatch(Exception):
    """A wire value whose type does not fit the field: it goes to ``extra`` instead."""


@dataclasses.dataclass(frozen=True)
class WireModel:
    """Base of every API model: ``from_json``/``to_json`` and the unknown fields in ``extra``."""

    #: Fields LTIAAS sent that the model does not know (wire names), sent back as they came.
    extra: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _EMPTY, kw_only=True, repr=False)
    #: Wire names that are not the camelCase of the field name.
    wire_names: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        if not isinstance(self.extra, types.MappingProxyType):
            object.__setattr__(self, "extra", types.MappingProxyType(dict(self.extra)))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The model of a JSON object as LTIAAS sends it; ``ValueError`` when a required field is absent."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__} expects a JSON object.")
        fields = _fields(cls)
        known = {wire for _, wire, _ in fields}
        values: dict[str, Any] = {}
        extra = {key: value for key, value in data.items() if key not in known and value is not None}
        for name, wire, hint in fields:
            raw = data.get(wire)
            if raw is None:
                continue
            try:
                values[name] = _decode(hint, raw)
            except _Mismatch:
                extra[wire] = raw
        try:
            return cls(**values, extra=types.MappingProxyType(extra) if extra else _EMPTY)
        except TypeError as error:
            raise ValueError(f"{cls.__name__}: a required field is missing ({error}).") from None

    def to_json(self) -> dict[str, Any]:
        """This model in LTIAAS's wire shape: camelCase, unset fields left out, ``extra`` merged back."""
        out: dict[str, Any] = {key: value for key, value in self.extra.items() if value is not None}
        for name, wire, _hint in _fields(type(self)):
            value = getattr(self, name)
            if value is not None:
                out[wire] = _encode(value)
        return out


def _encode(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.to_json()
    if isinstance(value, datetime):
        return wire_datetime(value)
    if isinstance(value, Roles):
        return list(value.values)
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    return value


_FIELDS: dict[type[WireModel], tuple[tuple[str, str, Any], ...]] = {}


def _fields(cls: type[WireModel]) -> tuple[tuple[str, str, Any], ...]:
    """(field name, wire name, type hint) of every wire field: all but ``extra`` and local ones."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = _resolve(cls)
    return found


def _resolve(cls: type[WireModel]) -> tuple[tuple[str, str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        (f.name, cls.wire_names.get(f.name, camel(f.name)), hints[f.name])
        for f in dataclasses.fields(cls)
        if f.init and f.name != "extra" and not f.metadata.get("local")
    )


def _decode(hint: Any, raw: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        for option in options:
            try:
                return _decode(option, raw)
            except _Mismatch:
                continue
        raise _Mismatch
    if hint is Any:
        return raw
    if origin is tuple:
        if not isinstance(raw, list):
            raise _Mismatch
        (item,) = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
        return tuple(_decode(item, entry) for entry in raw)
    if origin is Mapping or hint is Mapping:
        if not isinstance(raw, dict):
            raise _Mismatch
        return types.MappingProxyType(raw)
    if hint is Roles:
        if isinstance(raw, str | list):
            return Roles.parse(raw)
        raise _Mismatch
    if hint is datetime:
        if not isinstance(raw, str):
            raise _Mismatch
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise _Mismatch from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        raise _Mismatch
    if hint is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return raw
        raise _Mismatch
    if hint is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        raise _Mismatch
    if hint is str:
        if isinstance(raw, str):
            return raw
        raise _Mismatch
    if isinstance(hint, type) and issubclass(hint, WireModel):
        if not isinstance(raw, dict):
            raise _Mismatch
        decode = getattr(hint, "from_wire", hint.from_json)
        try:
            return decode(raw)
        except ValueError:
            raise _Mismatch from None
    raise TypeError(f"no wire codec for {hint!r}")  # a model declared a type this module does not know
