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
import functools
import types
import typing
from collections.abc import Callable, Mapping
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
        known, decoders, defaults, local = _plan(cls)
        extra = {key: value for key, value in data.items() if key not in known and value is not None}
        # Built field by field as the dataclass __init__ would (it is the hot path of every answer).
        model = object.__new__(cls)
        for name, wire, decode, scalar in decoders:
            raw = data.get(wire)
            if raw is not None:
                if scalar is not None:  # str, int, float, bool: checked inline, the common case
                    if isinstance(raw, scalar) and (raw.__class__ is not bool or bool in scalar):
                        object.__setattr__(model, name, raw)
                        continue
                    extra[wire] = raw
                else:
                    try:
                        object.__setattr__(model, name, decode(raw))
                        continue
                    except _Mismatch:
                        extra[wire] = raw
            default = defaults[name]
            if default is _REQUIRED:
                raise ValueError(f"{cls.__name__}: the required field {wire!r} is missing.")
            object.__setattr__(model, name, default() if callable(default) else default)
        for name, default in local:  # fields that are not on the wire (IdToken.raw)
            object.__setattr__(model, name, default() if callable(default) else default)
        object.__setattr__(model, "extra", types.MappingProxyType(extra) if extra else _EMPTY)
        return model

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


Decoder = Callable[[Any], Any]
_FIELDS: dict[type[WireModel], tuple[tuple[str, str, Any], ...]] = {}
_Plan = tuple[
    frozenset[str],
    tuple[tuple[str, str, Decoder, tuple[type, ...] | None], ...],
    dict[str, Any],
    tuple[tuple[str, Any], ...],
]
_SCALARS: dict[Any, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
_PLANS: dict[type[WireModel], _Plan] = {}
_REQUIRED: Any = object()


def _fields(cls: type[WireModel]) -> tuple[tuple[str, str, Any], ...]:
    """(field name, wire name, type hint) of every wire field: all but ``extra`` and local ones."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _FIELDS[cls] = tuple(
            (f.name, cls.wire_names.get(f.name, camel(f.name)), hints[f.name])
            for f in dataclasses.fields(cls)
            if f.init and f.name != "extra" and not f.metadata.get("local")
        )
    return found


def _plan(cls: type[WireModel]) -> _Plan:
    """The wire names ``cls`` knows, a decoder per wire field, and every field's default (a factory to
    call, a value, or ``_REQUIRED``), worked out once per class from its hints."""
    found = _PLANS.get(cls)
    if found is None:
        fields = _fields(cls)
        decoders = tuple((name, wire, _decoder(hint), _scalar_of(hint)) for name, wire, hint in fields)
        defaults: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.default_factory is not dataclasses.MISSING:
                defaults[f.name] = f.default_factory
            elif f.default is not dataclasses.MISSING:
                defaults[f.name] = f.default
                if callable(f.default):  # never the case today; a callable default would be called
                    raise TypeError(f"{cls.__name__}.{f.name}: use default_factory for a callable default")
            else:
                defaults[f.name] = _REQUIRED
        wire_fields = {name for name, _, _ in fields}
        local = tuple((n, d) for n, d in defaults.items() if n not in wire_fields and n != "extra")
        found = _PLANS[cls] = (frozenset(wire for _, wire, _ in fields), decoders, defaults, local)
    return found


def _scalar_of(hint: Any) -> tuple[type, ...] | None:
    """The JSON types a ``str``/``int``/``float``/``bool`` field (maybe ``| None``) takes, else None."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = options[0] if len(options) == 1 else None
    return _SCALARS.get(hint)


def _decoder(hint: Any) -> Decoder:
    """A function reading a wire value of type ``hint``, raising ``_Mismatch`` when it does not fit."""
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        options = [_decoder(arg) for arg in typing.get_args(hint) if arg is not type(None)]
        if len(options) == 1:
            return options[0]
        return functools.partial(_first_fit, tuple(options))
    if hint is Any:
        return _identity
    if origin is tuple:
        (item,) = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
        return functools.partial(_tuple, _decoder(item))
    if origin is Mapping or hint is Mapping:
        return _mapping
    if hint is Roles:
        return _roles
    if hint is datetime:
        return _datetime
    if hint in _SCALARS:
        return functools.partial(_scalar, _SCALARS[hint], hint is not bool)
    if isinstance(hint, type) and issubclass(hint, WireModel):
        return functools.partial(_model, getattr(hint, "from_wire", hint.from_json))
    raise TypeError(f"no wire codec for {hint!r}")  # a model declared a type this module does not know


def _first_fit(options: tuple[Decoder, ...], raw: Any) -> Any:
    for option in options:
        try:
            return option(raw)
        except _Mismatch:
            continue
    raise _Mismatch


def _identity(raw: Any) -> Any:
    return raw


def _tuple(item: Decoder, raw: Any) -> tuple[Any, ...]:
    if not isinstance(raw, list):
        raise _Mismatch
    return tuple(item(entry) for entry in raw)


def _mapping(raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise _Mismatch
    return types.MappingProxyType(raw)


def _roles(raw: Any) -> Roles:
    if isinstance(raw, str | list):
        return Roles.parse(raw)
    raise _Mismatch


def _datetime(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise _Mismatch
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _Mismatch from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _scalar(accepted: tuple[type, ...], no_bool: bool, raw: Any) -> Any:
    if isinstance(raw, accepted) and not (no_bool and isinstance(raw, bool)):
        return raw
    raise _Mismatch


def _model(parse: Callable[[Mapping[str, Any]], Any], raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise _Mismatch
    try:
        return parse(raw)
    except ValueError:
        raise _Mismatch from None
