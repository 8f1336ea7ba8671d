"""Type conversion of request values, compiled once per annotation.

Every function here is called at build time with an annotation and returns a converter: a
plain closure that the request path calls with the raw value. No type is inspected per
request; an annotation nothing here can convert raises ``TypeError`` at build time, so a
misconfigured controller fails when the application starts, not on its first request.

Two kinds of input:

- **strings** (a query or form parameter, a header, a cookie, a path segment):
  :func:`string_converter` for one value, :func:`strings_converter` for every value of a
  repeated parameter (``list[int]``);
- **JSON values** (a request body, or a parameter holding JSON): :func:`json_converter`.
  JSON types are checked, not coerced: ``"1"`` is not an ``int`` in a body.

Supported: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``/``object``,
``Optional[T]`` and other unions (first member that accepts the value wins), ``list[T]``,
``tuple[T, ...]``, ``set[T]``, ``frozenset[T]``, ``dict[K, V]``, ``Enum`` (by value, then by
name), ``Literal[...]``, ``NewType``, ``Annotated[T, ...]`` (metadata ignored), dataclasses
and ``TypedDict`` (nested, every field checked), ``JSONBody``, and the text types of
:mod:`naja_atra.injection.scalars` (``date``, ``datetime``, ``time``, ``UUID``, ``Decimal``;
in JSON, a string holding one).

A bad value raises :class:`ConversionError` holding one :class:`Issue` per problem, each
with the path of the bad value inside it (``"items[2].price"``) so that one answer can list
every mistake of a body.
"""
from __future__ import annotations

import dataclasses
import decimal
import enum
import math
import typing
from typing import Any, Callable, Iterable, Optional, Sequence

from typing_extensions import Literal, NotRequired, Required, get_args, get_origin, get_type_hints
from typing_extensions import is_typeddict as _is_typeddict

from ..http.json_body import loads_json
from ..http.limits import Limits
from .annotations import NONE_TYPE, is_body_type, is_sequence_type, is_union, strip_optional, type_label
from .annotations import unwrap as _unwrap
from .markers import JSONBody
from .scalars import TextType, text_type

__all__ = [
    "ConversionError",
    "Issue",
    "Converter",
    "string_converter",
    "strings_converter",
    "json_converter",
    "type_label",
    "is_sequence_type",
    "is_body_type",
    "strip_optional",
    "is_union",
    "TRUE_STRINGS",
    "FALSE_STRINGS",
]

#: A compiled converter: raw value in, converted value out (or ``ConversionError``).
Converter = Callable[[Any], Any]

#: Strings a ``bool`` parameter accepts (compared lower-cased). Anything else is a 400:
#: a typo such as ``?debug=ture`` should not silently mean True.
TRUE_STRINGS = frozenset(("1", "true", "yes", "on", "t", "y"))
FALSE_STRINGS = frozenset(("0", "false", "no", "off", "f", "n", ""))
_NONE = NONE_TYPE
_RECEIVED_MAX = 200
_MISSING = object()
#: How deep JSON held in one parameter may nest (``Limits.max_json_depth``'s default).
_JSON_DEPTH = Limits.max_json_depth


@dataclasses.dataclass(frozen=True)
class Issue:
    """One bad value: where it is inside the converted value (``""`` for the value itself),
    the type expected, what was received and why it was refused."""

    path: str
    expected: str
    received: Any
    reason: str

    def under(self, prefix: str) -> Issue:
        """This issue seen from the container holding it at ``prefix`` (a key or ``[i]``)."""
        if not self.path:
            path = prefix
        elif self.path.startswith("["):
            path = prefix + self.path
        else:
            path = f"{prefix}.{self.path}" if prefix else self.path
        return dataclasses.replace(self, path=path)


class ConversionError(ValueError):
    """A value that does not convert; ``issues`` lists every problem found in it."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: list[Issue] = list(issues)
        first = self.issues[0] if self.issues else None
        super().__init__(f"{first.path or 'value'}: {first.reason}" if first else "invalid value")


def received(value: Any) -> Any:
    """What to echo back as "received": scalars as they are (long strings cut), containers
    by their JSON kind, so an error answer never repeats a whole request body."""
    if isinstance(value, str):
        return value if len(value) <= _RECEIVED_MAX else value[:_RECEIVED_MAX] + "..."
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _fail(expected: str, value: Any, reason: str) -> ConversionError:
    return ConversionError([Issue("", expected, received(value), reason)])


def _hints_of(cls: Any) -> dict[str, Any]:
    """The resolved field types of a dataclass or TypedDict (a clear error if they do not
    resolve, e.g. a class defined inside a function under ``from __future__ import annotations``)."""
    try:
        return get_type_hints(cls, include_extras=True)
    except Exception as exc:
        raise TypeError(f"cannot resolve the field types of {type_label(cls)}: {exc}") from exc


# -- strings ---------------------------------------------------------------------------


def _str_int(value: str) -> int:
    # ``int()`` also takes "1_000" and surrounding blanks; a request value should be plain.
    text = value.strip()
    if text != value or "_" in value:
        raise ValueError(value)
    return int(value)


def _str_float(value: str) -> float:
    text = value.strip()
    if text != value or "_" in value:
        raise ValueError(value)
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(value)
    return result


def _scalar_from_string(tp: Any) -> Optional[Converter]:
    """Converters for the scalar types (None when ``tp`` is not one)."""
    if tp is str or tp is Any or tp is object:
        return lambda value: value
    if tp is bool:
        def to_bool(value: str) -> bool:
            lowered = value.lower()
            if lowered in TRUE_STRINGS:
                return True
            if lowered in FALSE_STRINGS:
                return False
            raise _fail("bool", value, "not a boolean (use true/false, 1/0, yes/no or on/off)")
        return to_bool
    if tp is int:
        def to_int(value: str) -> int:
            try:
                # Plain digits (the common case) skip the checks of _str_int; int() still
                # refuses digits it does not know ("²") and over-long strings.
                return int(value) if value.isdigit() else _str_int(value)
            except ValueError:
                raise _fail("int", value, "not an integer") from None
        return to_int
    if tp is float:
        def to_float(value: str) -> float:
            try:
                return _str_float(value)
            except (ValueError, OverflowError):
                raise _fail("float", value, "not a number") from None
        return to_float
    known = text_type(tp)
    return _text_from_string(known) if known is not None else None


def _text_from_string(known: TextType) -> Converter:
    parse, label, reason = known.parse, known.label, known.reason

    def to_value(value: str) -> Any:
        try:
            return parse(value)
        except ValueError:
            raise _fail(label, value, reason) from None
    return to_value


def _enum_from_string(cls: type[enum.Enum]) -> Converter:
    # Values first (what clients usually send), then names, as strings.
    by_text: dict[str, enum.Enum] = {}
    for member in cls:
        by_text.setdefault(str(member.value), member)
    for name, member in cls.__members__.items():
        by_text.setdefault(name, member)
    label = cls.__name__
    reason = "not one of " + ", ".join(repr(str(m.value)) for m in cls)

    def to_enum(value: str) -> enum.Enum:
        try:
            return by_text[value]
        except KeyError:
            raise _fail(label, value, reason) from None
    return to_enum


def _literal_from_string(tp: Any) -> Converter:
    by_text: dict[str, Any] = {}
    for lit in get_args(tp):
        text = lit.value if isinstance(lit, enum.Enum) else lit
        text = ("true" if text else "false") if isinstance(text, bool) else str(text)
        by_text.setdefault(text, lit)
    label = type_label(tp)
    reason = "not one of " + ", ".join(repr(t) for t in by_text)

    def to_literal(value: str) -> Any:
        found = by_text.get(value, _MISSING)
        if found is _MISSING:
            found = by_text.get(value.lower(), _MISSING)  # "True" for Literal[True]
        if found is _MISSING:
            raise _fail(label, value, reason)
        return found
    return to_literal


def _union_from_string(tp: Any, optional: bool) -> Converter:
    members = [string_converter(a) for a in get_args(tp)] if is_union(tp) else [string_converter(tp)]
    label = type_label(tp) + (" | None" if optional else "")
    takes_empty = any(a is str or a is Any for a in (get_args(tp) if is_union(tp) else (tp,)))

    def to_union(value: str) -> Any:
        # An empty value of an Optional non-string type means "no value" (``?page=``).
        if optional and value == "" and not takes_empty:
            return None
        issues: list[Issue] = []
        for convert in members:
            try:
                return convert(value)
            except ConversionError as exc:
                issues.extend(exc.issues)
        if len(members) == 1:
            raise ConversionError([dataclasses.replace(i, expected=label) for i in issues])
        raise _fail(label, value, "matches none of " + label)
    return to_union


def string_converter(tp: Any) -> Converter:
    """A converter from one string (a parameter, header, cookie or path value) to ``tp``.

    Scalars, enums, literals and unions convert from their text; ``dict``, dataclasses and
    ``TypedDict`` read the string as JSON. Raises ``TypeError`` for anything else.
    """
    tp = _unwrap(tp)
    inner, optional = strip_optional(tp)
    if optional or is_union(tp):
        return _union_from_string(inner, optional)
    scalar = _scalar_from_string(tp)
    if scalar is not None:
        return scalar
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_from_string(tp)
    if get_origin(tp) is Literal:
        return _literal_from_string(tp)
    if tp is _NONE:
        def to_none(value: str) -> None:
            if value:
                raise _fail("None", value, "expected no value")
            return None
        return to_none
    origin = get_origin(tp) or tp
    if origin in (dict, typing.Dict, JSONBody) or is_body_type(tp):
        from_json = json_converter(tp)
        label = type_label(tp)

        def parse_json(value: str) -> Any:
            try:
                # A parameter's own value (query, form field, header): the default depth cap,
                # since a converter does not see the request or its limits.
                data = loads_json(value, _JSON_DEPTH)
            except ValueError:
                raise _fail(label, value, "not valid JSON") from None
            return from_json(data)
        return parse_json
    raise TypeError(f"no conversion from a string to {type_label(tp)}")


def strings_converter(tp: Any) -> Converter:
    """A converter from every value of a repeated parameter (a sequence of strings) to the
    sequence type ``tp`` (``list``, ``list[int]``, ``tuple[str, ...]``, ``set[int]``).

    Every item is converted and every bad item reported, each with its index."""
    tp = _unwrap(strip_optional(_unwrap(tp))[0])
    origin = get_origin(tp) or tp
    args = get_args(tp)
    item_tp: Any = args[0] if args else str
    make: Callable[[list[Any]], Any] = list
    if origin in (tuple, typing.Tuple):
        if len(args) > 2 or (len(args) == 2 and args[1] is not Ellipsis):
            raise TypeError(f"no conversion of repeated values to a fixed-length {type_label(tp)}")
        make = tuple
    elif origin in (set, typing.Set):
        make = set
    elif origin in (frozenset, typing.FrozenSet):
        make = frozenset
    elif origin not in (list, typing.List):
        raise TypeError(f"{type_label(tp)} is not a list type")
    item = _unwrap(item_tp)
    if item is str or item is Any or item is object:
        return lambda values: make(values)
    convert = string_converter(item)

    def to_items(values: Sequence[str]) -> Any:
        return make(convert_items(values, convert))
    return to_items


def convert_items(values: Iterable[Any], convert: Converter) -> list[Any]:
    """Every value converted; one ``ConversionError`` naming each bad item by its index."""
    out: list[Any] = []
    issues: list[Issue] = []
    for index, value in enumerate(values):
        try:
            out.append(convert(value))
        except ConversionError as exc:
            issues.extend(i.under(f"[{index}]") for i in exc.issues)
    if issues:
        raise ConversionError(issues)
    return out


# -- JSON values -----------------------------------------------------------------------


class _JsonBuilder:
    """Builds JSON converters, sharing one per type so recursive dataclasses work."""

    def __init__(self) -> None:
        self.done: dict[Any, Converter] = {}

    def build(self, tp: Any) -> Converter:
        tp = _unwrap(tp)
        try:
            known = self.done.get(tp)
        except TypeError:  # an unhashable annotation (odd metadata): build it afresh
            known = None
        if known is not None:
            return known
        if is_union(tp):
            return self._union(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._recursive(tp, self._dataclass)
        if _is_typeddict(tp):
            return self._recursive(tp, self._typeddict)
        converter = self._simple(tp)
        if converter is None:
            raise TypeError(f"no conversion from JSON to {type_label(tp)}")
        return converter

    def _recursive(self, tp: Any, make: Callable[[Any], Converter]) -> Converter:
        # A placeholder first: a field of the class's own type refers to it while it is built.
        box: list[Converter] = []
        self.done[tp] = lambda value: box[0](value)
        box.append(make(tp))
        self.done[tp] = box[0]
        return box[0]

    def _simple(self, tp: Any) -> Optional[Converter]:
        if tp is Any or tp is object:
            return lambda value: value
        if tp is _NONE or tp is None:
            def to_none(value: Any) -> None:
                if value is not None:
                    raise _fail("None", value, "expected null")
                return None
            return to_none
        if tp is bool:
            def to_bool(value: Any) -> bool:
                if not isinstance(value, bool):
                    raise _fail("bool", value, "expected true or false")
                return value
            return to_bool
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self._enum(tp)
        known = text_type(tp)
        if known is not None:
            return self._text(tp, known)
        if tp is int:
            def to_int(value: Any) -> int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise _fail("int", value, "expected an integer")
                return int(value)
            return to_int
        if tp is float:
            def to_float(value: Any) -> float:
                if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
                    raise _fail("float", value, "expected a number")
                return float(value)  # a Decimal when the codec's loads reads numbers so
            return to_float
        if tp is str:
            def to_str(value: Any) -> str:
                if not isinstance(value, str):
                    raise _fail("str", value, "expected a string")
                return value
            return to_str
        origin = get_origin(tp)
        if origin is Literal:
            return self._literal(tp)
        origin = origin or tp
        if origin in (list, tuple, set, frozenset, typing.List, typing.Tuple, typing.Set, typing.FrozenSet):
            return self._sequence(tp, origin)
        if origin in (dict, typing.Dict, JSONBody) or (
                isinstance(origin, type) and origin is not str and issubclass(origin, dict)):
            return self._mapping(tp, origin)
        return None

    def _enum(self, cls: type[enum.Enum]) -> Converter:
        by_value: dict[Any, enum.Enum] = {}
        for member in cls:
            try:
                by_value.setdefault((type(member.value), member.value), member)
            except TypeError:  # an unhashable member value: compared one by one below
                pass
        members = list(cls)
        names = cls.__members__
        label = cls.__name__
        reason = "not one of " + ", ".join(repr(m.value) for m in cls)

        def to_enum(value: Any) -> enum.Enum:
            try:
                found = by_value.get((type(value), value))
            except TypeError:
                found = None
            if found is None:
                found = next((m for m in members if m.value == value and type(m.value) is type(value)), None)
            if found is None and isinstance(value, str):
                found = names.get(value)
            if found is None:
                raise _fail(label, value, reason)
            return found
        return to_enum

    def _text(self, tp: type, known: TextType) -> Converter:
        """A text type from a JSON string (``Decimal`` from a number too). A value that is
        one already (made by a codec's ``loads``: ``parse_float=Decimal``) is taken as it is."""
        parse, label, reason, numbers = known.parse, known.label, known.reason, known.from_number

        def to_value(value: Any) -> Any:
            if type(value) is tp:
                if isinstance(value, decimal.Decimal) and not value.is_finite():
                    raise _fail(label, value, reason)
                return value
            if isinstance(value, str):
                text = value
            elif numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
                text = str(value)  # a float's shortest text: 0.1 is Decimal("0.1")
            else:
                raise _fail(label, value, "expected a string (" + reason + ")")
            try:
                return parse(text)
            except ValueError:
                raise _fail(label, value, reason) from None
        return to_value

    def _literal(self, tp: Any) -> Converter:
        allowed = get_args(tp)
        label = type_label(tp)
        reason = "not one of " + ", ".join(repr(a) for a in allowed)

        def to_literal(value: Any) -> Any:
            for lit in allowed:
                # ``True == 1``: the JSON type must match too.
                plain = lit.value if isinstance(lit, enum.Enum) else lit
                if type(plain) is type(value) and plain == value:
                    return lit
            raise _fail(label, value, reason)
        return to_literal

    def _union(self, tp: Any) -> Converter:
        args = get_args(tp)
        nullable = _NONE in args
        members = [self.build(a) for a in args if a is not _NONE]
        label = type_label(tp)

        def to_union(value: Any) -> Any:
            if value is None and nullable:
                return None
            issues: list[Issue] = []
            for convert in members:
                try:
                    return convert(value)
                except ConversionError as exc:
                    issues.extend(exc.issues)
            if len(members) == 1:
                # ``Optional[X]``: X's own issues are the useful ones (nested field paths).
                raise ConversionError([dataclasses.replace(i, expected=label) if not i.path else i
                                       for i in issues])
            raise _fail(label, value, "matches none of " + label)
        return to_union

    def _sequence(self, tp: Any, origin: Any) -> Converter:
        args = get_args(tp)
        label = type_label(tp)
        make: Callable[[list[Any]], Any] = list
        if origin in (tuple, typing.Tuple):
            make = tuple
            if args and not (len(args) == 2 and args[1] is Ellipsis):
                return self._fixed_tuple(tp, args)
        elif origin in (set, typing.Set):
            make = set
        elif origin in (frozenset, typing.FrozenSet):
            make = frozenset
        item = self.build(args[0]) if args else (lambda value: value)

        def to_sequence(value: Any) -> Any:
            if not isinstance(value, list):
                raise _fail(label, value, "expected an array")
            out = convert_items(value, item)
            try:
                return make(out)
            except TypeError:  # unhashable items for a set
                raise _fail(label, value, "items cannot be put in a set") from None
        return to_sequence

    def _fixed_tuple(self, tp: Any, args: tuple[Any, ...]) -> Converter:
        items = [self.build(a) for a in args]
        label = type_label(tp)

        def to_tuple(value: Any) -> tuple[Any, ...]:
            if not isinstance(value, list) or len(value) != len(items):
                raise _fail(label, value, f"expected an array of {len(items)} items")
            out: list[Any] = []
            issues: list[Issue] = []
            for index, (convert, entry) in enumerate(zip(items, value, strict=False)):
                try:
                    out.append(convert(entry))
                except ConversionError as exc:
                    issues.extend(i.under(f"[{index}]") for i in exc.issues)
            if issues:
                raise ConversionError(issues)
            return tuple(out)
        return to_tuple

    def _mapping(self, tp: Any, origin: Any) -> Converter:
        args = get_args(tp)
        label = type_label(tp)
        key_tp, value_tp = (args[0], args[1]) if len(args) == 2 else (str, Any)
        key_plain = _unwrap(key_tp) in (str, Any, object)
        # JSON keys are strings: ``dict[int, X]`` converts each key from its text.
        key: Converter = (lambda k: k) if key_plain else string_converter(key_tp)
        value_plain = _unwrap(value_tp) in (Any, object)
        item: Converter = (lambda v: v) if value_plain else self.build(value_tp)
        make: Callable[[dict[Any, Any]], Any] = JSONBody if origin is JSONBody else dict

        def to_mapping(value: Any) -> Any:
            if not isinstance(value, dict):
                raise _fail(label, value, "expected an object")
            if key_plain and value_plain:
                return make(value)
            out: dict[Any, Any] = {}
            issues: list[Issue] = []
            for k, v in value.items():
                try:
                    out[key(k)] = item(v)
                except ConversionError as exc:
                    issues.extend(i.under(str(k)) for i in exc.issues)
            if issues:
                raise ConversionError(issues)
            return make(out)
        return to_mapping

    def _fields(self, cls: Any, names: Sequence[str], hints: dict[str, Any]) -> dict[str, Converter]:
        fields: dict[str, Converter] = {}
        for name in names:
            try:
                fields[name] = self.build(hints.get(name, Any))
            except TypeError as exc:
                raise TypeError(f"field {type_label(cls)}.{name}: {exc}") from None
        return fields

    def _dataclass(self, cls: Any) -> Converter:
        hints = _hints_of(cls)
        init_fields = [f for f in dataclasses.fields(cls) if f.init]
        required = frozenset(f.name for f in init_fields
                             if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        fields = self._fields(cls, [f.name for f in init_fields], hints)
        return self._record(cls, fields, hints, required, lambda values: cls(**values))

    def _typeddict(self, cls: Any) -> Converter:
        hints = _hints_of(cls)
        declared = frozenset(getattr(cls, "__required_keys__", hints))
        # ``Required``/``NotRequired`` in the (resolved) hints decide; ``__required_keys__``
        # cannot see them when the annotations are strings (``from __future__ import annotations``).
        required = frozenset(name for name, hint in hints.items()
                             if get_origin(hint) is Required or (get_origin(hint) is not NotRequired
                                                                 and name in declared))
        fields = self._fields(cls, list(hints), hints)
        return self._record(cls, fields, hints, required, dict)

    def _record(self, cls: Any, fields: dict[str, Converter], hints: dict[str, Any],
                required: frozenset[str], make: Callable[[dict[str, Any]], Any]) -> Converter:
        """An object with named fields: every field checked, every problem reported;
        unknown keys are ignored."""
        label = type_label(cls)
        expected = {name: type_label(hints.get(name, Any)) for name in fields}

        def to_record(value: Any) -> Any:
            if not isinstance(value, dict):
                raise _fail(label, value, "expected an object")
            values: dict[str, Any] = {}
            issues: list[Issue] = []
            for name, convert in fields.items():
                if name not in value:
                    if name in required:
                        issues.append(Issue(name, expected[name], None, "missing"))
                    continue
                try:
                    values[name] = convert(value[name])
                except ConversionError as exc:
                    issues.extend(i.under(name) for i in exc.issues)
            if issues:
                raise ConversionError(issues)
            try:
                return make(values)
            except (TypeError, ValueError) as exc:  # e.g. a __post_init__ that validates
                raise _fail(label, value, str(exc) or type(exc).__name__) from None
        return to_record


def json_converter(tp: Any) -> Converter:
    """A converter from a decoded JSON value to ``tp``, checking JSON types and building
    dataclasses / ``TypedDict`` values field by field. Raises ``TypeError`` for a type it
    cannot build."""
    return _JsonBuilder().build(tp)
