"""Plain-data messages between the grader and the sandboxed worker.

A message is a JSON document plus binary frames, written as::

    uint32 number of parts | (uint64 length | bytes) per part

Part 0 is the UTF-8 JSON; every further part is one numpy array saved with
``np.save(..., allow_pickle=False)`` and referenced from the JSON as
``{"__ndarray__": index}``.  Nothing is ever pickled: values are limited to
None, bool, int, float, str, lists, tuples, dicts with str keys, numpy arrays
of non-object dtype, numpy scalars and ``numpy.random.Generator`` objects;
anything else raises :class:`ProtocolError` naming where it was found.

Tags (each a one-key JSON object; plain dicts are tagged too so that no
student dict can pose as a tag): ``__ndarray__`` (frame index),
``__function__`` (a :class:`NamedFunction`), ``__scalar__`` (frame index of
a 0-d array, decoded back to the numpy scalar so that float32 stays
float32), ``__tuple__``, ``__dict__`` (list of
``[key, value]`` pairs) and ``__rng__`` (index into the message's list of
generator states).  A Generator crosses as its ``bit_generator.state``; the
receiver builds a Generator in that state, and the worker sends the advanced
states back so the caller can update its own objects (see
:func:`update_generators`).  The same Generator object appearing twice in one
message is one Generator on the other side.

This module must import nothing but the standard library and numpy: it runs
inside the sandbox, where ``dlcourse`` is not importable.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
from typing import Any, BinaryIO

import numpy as np
import numpy.random

DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024
MAX_PARTS = 100_000
MAX_DEPTH = 100

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_HEADER = struct.Struct(">I")
_LENGTH = struct.Struct(">Q")


class ProtocolError(Exception):
    """A value that cannot cross the process boundary, or a malformed message."""


class PeerClosed(ProtocolError):
    """The other end closed the pipe (the worker exited or crashed)."""


class NamedFunction:
    """One of the grader's test functions, sent by name (``{"__function__": name}``); the worker looks it up."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NamedFunction) and other.name == self.name

    def __repr__(self) -> str:
        return f"NamedFunction({self.name!r})"


class Handle:
    """An object that stays in the worker (a student's cache object, say), referred to by number.

    The worker replaces a result it cannot send (an instance of a student's
    class, a namedtuple, a closure) by a Handle; the grader passes the Handle
    back as an argument and the worker substitutes its object.  On the wire:
    ``{"__handle__": number}``.
    """

    def __init__(self, number: int, type_name: str = "object") -> None:
        self.number = int(number)
        self.type_name = str(type_name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handle) and other.number == self.number

    def __hash__(self) -> int:
        return hash(("Handle", self.number))

    def __repr__(self) -> str:
        return f"<{self.type_name} kept in the sandbox, handle {self.number}>"


# ------------------------------------------------------------------ .npy frames

_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER = re.compile(
    r"^\{'descr': '([<>|=][A-Za-z][0-9]*)', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \}\s*$")


# Grading sends the same few shapes and dtypes thousands of times: headers are built and parsed once each.
# Both caches are bounded, so a worker sending ever new shapes cannot grow them without limit.
_MAX_CACHED_HEADERS = 4096
_HEADERS_WRITTEN: dict[tuple[str, tuple[int, ...]], bytes] = {}
_HEADERS_READ: dict[bytes, tuple[np.dtype, tuple[int, ...], int]] = {}


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` in the .npy format, version 1.0 (what ``np.save`` writes), without np.save's per-call overhead.

    Grading makes thousands of small calls; writing the header directly is
    several times faster.  Dtypes with a structured description go through
    ``np.save`` itself.
    """
    array = np.ascontiguousarray(array) if array.ndim else array
    if array.dtype.fields is not None or array.dtype.subdtype is not None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()
    key = (array.dtype.str, array.shape)
    prefix = _HEADERS_WRITTEN.get(key)
    if prefix is None:
        header = f"{{'descr': '{key[0]}', 'fortran_order': False, 'shape': {array.shape!r}, }}"
        padding = 64 - (len(_NPY_MAGIC) + 2 + len(header) + 1) % 64
        header = (header + " " * padding + "\n").encode("latin1")
        prefix = _NPY_MAGIC + struct.pack("<H", len(header)) + header
        if len(_HEADERS_WRITTEN) < _MAX_CACHED_HEADERS:
            _HEADERS_WRITTEN[key] = prefix
    return prefix + array.tobytes()


def _parse_header(header: bytes) -> tuple[np.dtype, tuple[int, ...], int] | None:
    """(dtype, shape, element count) of a version 1.0 header as :func:`npy_bytes` writes it; None for another layout."""
    parsed = _HEADERS_READ.get(header)
    if parsed is not None:
        return parsed
    match = _NPY_HEADER.match(header.decode("latin1"))
    if match is None:
        return None
    try:
        dtype = np.dtype(match.group(1))
    except TypeError as error:
        raise ProtocolError(f"bad array frame: {error}") from None
    if dtype.hasobject:
        raise ProtocolError("bad array frame: object arrays are never sent")
    shape = tuple(int(n) for n in match.group(2).replace(" ", "").split(",") if n)
    parsed = (dtype, shape, math.prod(shape))
    if len(_HEADERS_READ) < _MAX_CACHED_HEADERS:
        _HEADERS_READ[header] = parsed
    return parsed


def npy_array(data: bytes) -> np.ndarray:
    """A writable array from .npy bytes; never unpickles (object dtypes are refused)."""
    parsed = None
    if data[:8] == _NPY_MAGIC and len(data) >= 10:
        (length,) = struct.unpack("<H", data[8:10])
        parsed = _parse_header(bytes(data[10:10 + length]))
    if parsed is None:  # another .npy version or layout: numpy's own reader, still without pickle
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as error:
            raise ProtocolError(f"bad array frame: {error}") from None
    dtype, shape, count = parsed
    body = memoryview(data)[10 + length:]
    if len(body) != count * dtype.itemsize:
        raise ProtocolError(f"bad array frame: {len(body)} bytes for shape {shape} of {dtype}")
    return np.frombuffer(body, dtype=dtype, count=count).reshape(shape).copy()


# ------------------------------------------------------------------ encoding


class _Encoder:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.generators: list[np.random.Generator] = []

    def array_frame(self, array: np.ndarray, where: str) -> int:
        if array.dtype.hasobject:
            raise ProtocolError(f"{where} is a numpy array of dtype object; only numeric/bool/str arrays can be sent")
        self.frames.append(npy_bytes(array))
        return len(self.frames)  # part 0 is the JSON

    def encode(self, value: Any, where: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"{where} is nested more than {MAX_DEPTH} levels deep")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.ndarray):
            if type(value) is not np.ndarray:
                raise ProtocolError(f"{where} is a {type(value).__name__} (an ndarray subclass); send a plain ndarray")
            return {"__ndarray__": self.array_frame(value, where)}
        if isinstance(value, np.generic):
            return {"__scalar__": self.array_frame(np.asarray(value), where)}
        if isinstance(value, NamedFunction):
            return {"__function__": str(value.name)}
        if type(value) is Handle:
            return {"__handle__": [value.number, value.type_name]}
        if isinstance(value, np.random.Generator):
            for index, known in enumerate(self.generators):
                if known is value:
                    return {"__rng__": index}
            self.generators.append(value)
            return {"__rng__": len(self.generators) - 1}
        if type(value) is tuple:
            return {"__tuple__": [self.encode(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]}
        if type(value) is list:
            return [self.encode(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        if type(value) is dict:
            pairs = []
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ProtocolError(f"{where} has the key {key!r} of type {type(key).__name__}; only str keys "
                                        f"can be sent")
                pairs.append([key, self.encode(item, f"{where}[{key!r}]", depth + 1)])
            return {"__dict__": pairs}
        raise ProtocolError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which cannot cross into or out of the "
            f"sandbox; use numpy arrays, numbers, strings, None, and lists/tuples/dicts of these"
        )


def encode_message(message: dict[str, Any],
                   max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> tuple[bytes, list[np.random.Generator]]:
    """The wire bytes of ``message`` and the Generator objects it mentions (in ``__rng__`` order)."""
    encoder = _Encoder()
    body = {key: encoder.encode(value, key) for key, value in message.items()}
    states = []
    for index, generator in enumerate(encoder.generators):
        state = generator.bit_generator.state
        states.append(encoder.encode(state, f"generator {index} state"))
    body["__rngs__"] = states
    parts = [json.dumps(body, allow_nan=False).encode(), *encoder.frames]
    size = _HEADER.size + sum(_LENGTH.size + len(part) for part in parts)
    if size > max_bytes:
        raise ProtocolError(f"message of {size} bytes exceeds the limit of {max_bytes} bytes")
    chunks = [_HEADER.pack(len(parts))]
    for part in parts:
        chunks += [_LENGTH.pack(len(part)), part]
    return b"".join(chunks), encoder.generators


# ------------------------------------------------------------------ decoding


def _generator_from_state(state: Any) -> np.random.Generator:
    if not isinstance(state, dict) or state.get("bit_generator") not in _BIT_GENERATORS:
        raise ProtocolError(f"bad generator state: expected a dict naming one of {_BIT_GENERATORS}")
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


class _Decoder:
    def __init__(self, frames: list[bytes], rng_states: list[Any]) -> None:
        self.frames = frames
        self.rng_states = rng_states
        self.generators: dict[int, np.random.Generator] = {}

    def array(self, index: Any) -> np.ndarray:
        if not isinstance(index, int) or not 1 <= index <= len(self.frames):
            raise ProtocolError(f"bad array reference {index!r}")
        return npy_array(self.frames[index - 1])

    def decode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH + 2:
            raise ProtocolError("message nested too deeply")
        if isinstance(value, list):
            return [self.decode(item, depth + 1) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            raise ProtocolError(f"malformed message: untagged object with keys {sorted(value)[:5]}")
        (tag, content), = value.items()
        if tag == "__ndarray__":
            return self.array(content)
        if tag == "__scalar__":
            return self.array(content)[()]
        if tag == "__function__":
            return NamedFunction(str(content))
        if tag == "__handle__":
            if not (isinstance(content, list) and len(content) == 2 and type(content[0]) is int):
                raise ProtocolError(f"bad handle {content!r}")
            return Handle(content[0], str(content[1]))
        if tag == "__float__":
            return float(content)
        if tag == "__tuple__":
            return tuple(self.decode(item, depth + 1) for item in content)
        if tag == "__dict__":
            return {str(key): self.decode(item, depth + 1) for key, item in content}
        if tag == "__rng__":
            if content not in self.generators:
                if not isinstance(content, int) or not 0 <= content < len(self.rng_states):
                    raise ProtocolError(f"bad generator reference {content!r}")
                self.generators[content] = _generator_from_state(self.decode(self.rng_states[content], depth + 1))
            return self.generators[content]
        raise ProtocolError(f"malformed message: unknown tag {tag!r}")


def decode_message(data: list[bytes]) -> tuple[dict[str, Any], list[np.random.Generator]]:
    """The message from its parts, and the Generators rebuilt from it (in ``__rng__`` order)."""
    try:
        body = json.loads(data[0])
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"malformed message: {error}") from None
    if not isinstance(body, dict):
        raise ProtocolError("malformed message: not an object")
    decoder = _Decoder(data[1:], body.pop("__rngs__", []))
    message = {key: decoder.decode(value) for key, value in body.items()}
    # every generator named in the message exists on this side, even if unused by the values
    generators = [decoder.decode({"__rng__": index}) for index in range(len(decoder.rng_states))]
    return message, generators


def update_generators(generators: list[np.random.Generator], states: list[dict[str, Any]]) -> None:
    """Put each of the caller's Generators into the state the worker left its copy in."""
    if len(states) != len(generators):
        raise ProtocolError(f"expected {len(generators)} generator states back, got {len(states)}")
    for generator, state in zip(generators, states, strict=True):
        generator.bit_generator.state = state


def generator_states(generators: list[np.random.Generator]) -> list[dict[str, Any]]:
    return [generator.bit_generator.state for generator in generators]


# ------------------------------------------------------------------ framing


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise PeerClosed("the other end closed the pipe")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_parts(stream: BinaryIO, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> list[bytes]:
    """One message's parts from a binary stream, refusing more than ``max_bytes``."""
    (count,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    if not 1 <= count <= MAX_PARTS:
        raise ProtocolError(f"malformed message: {count} parts")
    parts, total = [], _HEADER.size
    for _ in range(count):
        (length,) = _LENGTH.unpack(_read_exact(stream, _LENGTH.size))
        total += _LENGTH.size + length
        if total > max_bytes:
            raise ProtocolError(f"message exceeds the limit of {max_bytes} bytes")
        parts.append(_read_exact(stream, length))
    return parts


def write_message(stream: BinaryIO, message: dict[str, Any],
                  max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> list[np.random.Generator]:
    data, generators = encode_message(message, max_bytes)
    stream.write(data)
    stream.flush()
    return generators


def read_message(stream: BinaryIO,
                 max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> tuple[dict[str, Any], list[np.random.Generator]]:
    return decode_message(read_parts(stream, max_bytes))


def sendable(value: Any) -> bool:
    """Whether ``value`` can be encoded (checked without building the message's frames)."""
    if value is None or isinstance(value, (bool, str, NamedFunction, Handle, np.random.Generator)):
        return True
    if type(value) in (int, float):
        return True
    if type(value) is np.ndarray:
        return not value.dtype.hasobject
    if isinstance(value, np.generic):
        return not isinstance(value, np.object_)
    if type(value) in (list, tuple):
        return all(sendable(item) for item in value)
    if type(value) is dict:
        return all(isinstance(key, str) and sendable(item) for key, item in value.items())
    return False


def round_trip(value: Any) -> Any:
    """``value`` encoded and decoded in this process (tests, and checking that a value can be sent)."""
    data, _ = encode_message({"value": value})
    stream = io.BytesIO(data)
    message, _ = read_message(stream)
    return message["value"]


__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "Handle",
    "NamedFunction",
    "PeerClosed",
    "ProtocolError",
    "decode_message",
    "encode_message",
    "generator_states",
    "read_message",
    "round_trip",
    "sendable",
    "update_generators",
    "write_message",
]
