"""The requests the grader sends to the sandboxed worker and the worker's replies, as small dataclasses.

Every request gets exactly one reply, in order.

=============  ===========================================================  =========================
request        what the worker does                                         reply
=============  ===========================================================  =========================
``Ping``       nothing (proves the worker is up)                            ``Value(None)``
``Provide``    makes the instructor's setup names available to the cells    ``Value(missing modules)``
``LoadCells``  runs each ``(label, source)`` cell in the one namespace;      ``Loaded``
               an error is recorded and the next cell still runs
``Call``       calls a function of the cells (``as_list``: materializes     ``Value`` or ``Failure``
               its result with ``list()`` inside the same timed call)
``Construct``  instantiates a class of the cells; the instance stays there  ``Instance`` or ``Failure``
``Method``     calls a method of an instance kept in the worker             ``Value`` or ``Failure``
``Observe``    runs a torch observation (``torch_observe.OBSERVERS``)       ``Value`` or ``Failure``
``Get``        reads globals of the cells                                   ``Value({name: value})``
``Release``    forgets an instance or value kept in the worker              ``Value(None)``
=============  ===========================================================  =========================

A :class:`Failure` says what went wrong in its ``kind``: ``exception`` (the
student's code raised), ``timeout`` (the worker's own timer stopped it),
``impure`` (it modified an input), ``not_iterable`` (``as_list`` of a
non-iterable), ``missing`` (no such method), ``observation`` (a torch
observation found the result wrong), ``result`` (the reply could not be
sent) or ``protocol`` (a malformed request).  Every reply carries what the
student's code printed meanwhile (``output``, capped).

On the wire (:mod:`protocol`: JSON plus ``.npy`` frames, never pickle) a
message is a JSON object naming its type under ``message_type``, with one key
per field.  The receiving side rebuilds it from :data:`REQUESTS` or
:data:`REPLIES` and checks every field against the dataclass's annotation
(:func:`from_wire`), so a malformed or forged message (the student's code
runs in the worker) is a :class:`ProtocolError`, never a ``KeyError`` deep in
the grader.  A ``numpy.random.Generator`` in the arguments crosses as its
state and comes back advanced (``rng_states``, next to the reply's fields).

This module imports only the standard library and numpy; inside the sandbox it
is the top-level module ``messages``.  (No ``from __future__ import
annotations``: the field checks read the annotations as objects.)
"""

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Union

import numpy as np

if __package__:
    from dlcourse.sandbox import protocol
else:  # inside the sandbox: the worker's modules sit side by side
    import protocol  # type: ignore[no-redef]

# Not frozen: a frozen dataclass takes twice as long to build, and every call into student code builds two.

# ------------------------------------------------------------------ requests


@dataclass(slots=True)
class Ping:
    """Nothing to do: proves that the worker answers."""


@dataclass(slots=True)
class Provide:
    """Names the instructor's setup cells define, given to the solution cells.

    ``modules`` (``{alias: module}``) are imported in the worker, so only
    numpy and the standard library work; ``values`` are plain data;
    ``helpers`` name stand-ins from ``provided.HELPERS`` (``{"erf": "erf"}``);
    ``returns`` become functions of no arguments returning a fresh copy of
    ``spec["value"]`` (``provided.returning``).
    """

    modules: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    helpers: dict[str, str] = field(default_factory=dict)
    returns: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class LoadCells:
    """Run ``(label, source)`` cells one by one in the solution namespace; ``time_limit`` seconds each (0: none)."""

    cells: list[tuple[str, str]]
    time_limit: float = 0.0


@dataclass(slots=True, kw_only=True)
class Invocation:
    """What every call into student code carries.

    ``arg_names`` name the positional arguments in messages about modified
    inputs; ``pure`` asks the worker to check that no input changed;
    ``time_limit`` is the worker's own timer in seconds (0: none).
    """

    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    arg_names: list[str] | None = None
    pure: bool = False
    time_limit: float = 0.0


@dataclass(slots=True)
class Call(Invocation):
    """Call the function ``name`` of the solution cells.

    A result that is an iterator (a generator) is materialized into a list
    inside the call; ``as_list`` materializes any iterable, and a result that
    is not iterable is a ``not_iterable`` Failure.
    """

    name: str
    as_list: bool = False


@dataclass(slots=True)
class Construct(Invocation):
    """Instantiate the class ``name`` of the solution cells; the instance stays in the worker."""

    name: str


@dataclass(slots=True)
class Method(Invocation):
    """Call ``method`` of the instance kept in the worker under ``handle``."""

    handle: int
    method: str


@dataclass(slots=True)
class Observe:
    """Run ``torch_observe.OBSERVERS[observer]`` on the function ``name`` with a trial's plain data."""

    observer: str
    name: str
    label: str
    args: list[tuple[str, Any]]
    extra: dict[str, Any]
    time_limit: float = 0.0


@dataclass(slots=True)
class Get:
    """The values of globals of the solution cells (absent names left out; unsendable values kept as handles)."""

    names: list[str]


@dataclass(slots=True)
class Release:
    """Forget the object kept under ``handle``."""

    handle: int


# ------------------------------------------------------------------ replies


@dataclass(slots=True, kw_only=True)
class Reply:
    """What every reply carries: the output the student's code printed while the request ran (capped)."""

    output: str = ""


@dataclass(slots=True)
class Value(Reply):
    """The request's result: plain data, with unsendable parts replaced by ``protocol.Handle`` objects."""

    value: Any = None


FAILURE_KINDS = ("exception", "timeout", "impure", "not_iterable", "missing", "observation", "result", "protocol")


@dataclass(slots=True)
class Failure(Reply):
    """The request failed (``kind``: one of :data:`FAILURE_KINDS`).

    ``message`` is the explanation; ``exception`` the exception's class
    name and ``traceback`` the lines in the student's cells (kind
    ``exception``); ``path`` the input that was modified (kind ``impure``).
    """

    kind: str
    message: str
    exception: str = ""
    traceback: str = ""
    path: str = ""


@dataclass(slots=True)
class Loaded(Reply):
    """After ``LoadCells``: the names the cells define, and each failed cell's error.

    An error is ``{"cell", "type", "message", "traceback"}`` (strings).
    """

    functions: list[str]
    classes: list[str]
    names: list[str]
    errors: list[dict[str, str]]


@dataclass(slots=True)
class Instance(Reply):
    """After ``Construct``: the instance's handle, its class name and its public methods."""

    handle: int
    type_name: str
    methods: list[str]


REQUESTS: dict[str, type] = {
    "Ping": Ping, "Provide": Provide, "LoadCells": LoadCells, "Call": Call, "Construct": Construct,
    "Method": Method, "Observe": Observe, "Get": Get, "Release": Release,
}
REPLIES: dict[str, type] = {"Value": Value, "Failure": Failure, "Loaded": Loaded, "Instance": Instance}
_WIRE_NAMES: dict[type, str] = {kind: name for table in (REQUESTS, REPLIES) for name, kind in table.items()}
_TYPE_KEY = "message_type"
_RNG_KEY = "rng_states"

# ------------------------------------------------------------------ field checks
# Built once per field from its annotation; a call into student code checks a request and a reply, so the checks
# are plain closures.  None stands for "anything" (Any).  Decoded dicts always have str keys (protocol).


def _checker(expected: Any) -> Callable[[Any], bool] | None:
    """A predicate for "this decoded JSON value fits the annotation ``expected``" (None: anything fits)."""
    if expected is Any:
        return None
    origin, arguments = typing.get_origin(expected), typing.get_args(expected)
    if origin in (Union, types.UnionType):
        checks = [_checker(option) for option in arguments if option is not type(None)]
        if None in checks:
            return None
        if len(checks) == 1 and len(arguments) == 2:  # X | None
            (check,) = checks
            return lambda value: value is None or check(value)
        nullable = type(None) in arguments
        return lambda value: (nullable and value is None) or any(check(value) for check in checks)
    if origin is list:
        if arguments[0] is str:
            return lambda value: type(value) is list and all(type(item) is str for item in value)
        item = _checker(arguments[0])
        if item is None:
            return lambda value: type(value) is list
        return lambda value: type(value) is list and all(map(item, value))
    if origin is tuple:
        items = [_checker(argument) or (lambda value: True) for argument in arguments]
        return lambda value: (type(value) is tuple and len(value) == len(items)
                              and all(check(part) for check, part in zip(items, value, strict=True)))
    if origin is dict:
        item = _checker(arguments[1])
        if item is None:
            return lambda value: type(value) is dict
        return lambda value: type(value) is dict and all(map(item, value.values()))
    if expected is float:  # a JSON number; numpy floats are floats
        return lambda value: isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if expected is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    return lambda value: type(value) is expected


_FIELDS: dict[type, tuple[str, ...]] = {kind: tuple(f.name for f in fields(kind)) for kind in _WIRE_NAMES}
_CHECKS: dict[type, dict[str, Callable[[Any], bool] | None]] = {
    kind: {f.name: _checker(f.type) for f in fields(kind)} for kind in _WIRE_NAMES
}
_NO_FIELD = object()


def to_wire(message: Any) -> dict[str, Any]:
    """The message as the JSON object :mod:`protocol` encodes: its fields and its type's name."""
    body = {name: getattr(message, name) for name in _FIELDS[type(message)]}
    body[_TYPE_KEY] = _WIRE_NAMES[type(message)]
    return body


def from_wire(body: dict[str, Any], table: dict[str, type]) -> Any:
    """The message a decoded JSON object describes; ProtocolError if its type or any field does not fit."""
    name = body.pop(_TYPE_KEY, None)
    kind = table.get(name) if type(name) is str else None
    if kind is None:
        raise protocol.ProtocolError(f"unknown message type {name!r}; expected one of {sorted(table)}")
    checks = _CHECKS[kind]
    for key, value in body.items():
        check = checks.get(key, _NO_FIELD)
        if check is _NO_FIELD:
            raise protocol.ProtocolError(f"{name} has no field {key!r}")
        if check is not None and not check(value):
            raise protocol.ProtocolError(f"{name}.{key} does not fit {_annotation(kind, key)}: got a "
                                         f"{type(value).__name__}")
    try:
        return kind(**body)
    except TypeError as error:  # a required field is missing
        raise protocol.ProtocolError(f"malformed {name}: {error}") from None


def _annotation(kind: type, key: str) -> str:
    annotation = next(f.type for f in fields(kind) if f.name == key)
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


# ------------------------------------------------------------------ both directions


def encode_request(request: Any, max_bytes: int) -> tuple[bytes, list[np.random.Generator]]:
    """The wire bytes of ``request`` and the Generators among its arguments (updated from the reply)."""
    return protocol.encode_message(to_wire(request), max_bytes)


def decode_request(parts: list[bytes]) -> tuple[Any, list[np.random.Generator]]:
    """The request from its wire parts, and the Generators rebuilt from it (the worker's copies)."""
    body, generators = protocol.decode_message(parts)
    return from_wire(body, REQUESTS), generators


def encode_reply(reply: Reply, output: str, generators: list[np.random.Generator], max_bytes: int) -> bytes:
    """The wire bytes of ``reply`` with the printed ``output`` and the advanced states of the request's Generators.

    A reply that cannot be sent (too large; an unsendable value) becomes a
    ``result`` Failure saying why.
    """
    rng_states = protocol.generator_states(generators)
    body = to_wire(reply) | {"output": output, _RNG_KEY: rng_states}
    try:
        data, _ = protocol.encode_message(body, max_bytes)
    except protocol.ProtocolError as error:
        failure = to_wire(Failure("result", str(error))) | {"output": output, _RNG_KEY: rng_states}
        data, _ = protocol.encode_message(failure, max_bytes)
    return data


def decode_reply(parts: list[bytes]) -> tuple[Reply, list[dict[str, Any]]]:
    """The reply from its wire parts and the Generator states it carries back (ProtocolError if malformed)."""
    body, _ = protocol.decode_message(parts)
    rng_states = body.pop(_RNG_KEY, [])
    if type(rng_states) is not list:
        raise protocol.ProtocolError("malformed reply: rng_states is not a list")
    reply = from_wire(body, REPLIES)
    if isinstance(reply, Failure) and reply.kind not in FAILURE_KINDS:
        raise protocol.ProtocolError(f"malformed reply: unknown failure kind {reply.kind!r}")
    return reply, rng_states


Request = Ping | Provide | LoadCells | Call | Construct | Method | Observe | Get | Release

__all__ = [
    "FAILURE_KINDS", "REPLIES", "REQUESTS", "Call", "Construct", "Failure", "Get", "Instance", "Invocation",
    "LoadCells", "Loaded", "Method", "Observe", "Ping", "Provide", "Release", "Reply", "Request", "Value",
    "decode_reply", "decode_request", "encode_reply", "encode_request", "from_wire", "to_wire",
]
