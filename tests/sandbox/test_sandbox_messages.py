"""The typed boundary: every request and reply crosses the wire intact, malformed or forged ones are refused, and
the worker has one handler per request (exercised here in-process, without starting a sandbox)."""

import io

import numpy as np
import pytest

from dlcourse.sandbox import messages, protocol, worker
from dlcourse.sandbox.messages import (
    Call,
    Construct,
    Failure,
    Get,
    Instance,
    LoadCells,
    Loaded,
    Method,
    Observe,
    Ping,
    Provide,
    Release,
    Value,
)
from dlcourse.sandbox.protocol import Handle, NamedFunction, ProtocolError

REQUESTS = [
    Ping(),
    Provide({"np": "numpy"}, {"SEED": 3}, {"erf": "erf"}, {"split": {"value": [1, 2], "fields": ["a", "b"]}}),
    LoadCells([("linear", "x = 1"), ("relu", "y = 2")], time_limit=2.5),
    Call("relu", args=[1.5, "a"], kwargs={"inplace": False}, arg_names=["x", "y"], pure=True, time_limit=1.0),
    Call("minibatches", args=[NamedFunction("log_sum_exp")], as_list=True),
    Construct("MultiplyGate", kwargs={"p": 2}),
    Method(3, "forward", args=[Handle(4, "Cache")], pure=True),
    Observe("mse", "mse", "a batch of one", [("pred", 1.0), ("target", 2.0)], {"dtype": "float64"}, 3.0),
    Get(["spread_conclusion"]),
    Release(7),
]
REPLIES = [
    Value(None), Value({"a": [1, (2, "x")]}, output="printed"),
    Failure("impure", "modified its input x in place", path="x"),
    Failure("exception", "boom", exception="ValueError", traceback="  line 3"),
    Loaded(["relu"], ["Gate"], ["SEED"], [{"cell": "linear", "type": "NameError", "message": "m", "traceback": ""}]),
    Instance(2, "MultiplyGate", ["backward", "forward"]),
]


def _wire(body, max_bytes=protocol.DEFAULT_MAX_MESSAGE_BYTES):
    data, _ = protocol.encode_message(body, max_bytes)
    return protocol.read_parts(io.BytesIO(data))


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda message: type(message).__name__)
def test_every_request_round_trips(request_):
    data, _ = messages.encode_request(request_, protocol.DEFAULT_MAX_MESSAGE_BYTES)
    decoded, _ = messages.decode_request(protocol.read_parts(io.BytesIO(data)))
    assert decoded == request_ and type(decoded) is type(request_)


@pytest.mark.parametrize("reply", REPLIES, ids=lambda message: type(message).__name__)
def test_every_reply_round_trips_with_its_output_and_generator_states(reply):
    rng = np.random.default_rng(5)
    rng.normal()
    data = messages.encode_reply(reply, "printed text", [rng], protocol.DEFAULT_MAX_MESSAGE_BYTES)
    decoded, states = messages.decode_reply(protocol.read_parts(io.BytesIO(data)))
    assert type(decoded) is type(reply) and decoded.output == "printed text"
    assert messages.to_wire(decoded) | {"output": ""} == messages.to_wire(reply) | {"output": ""}
    assert states == [rng.bit_generator.state]


def test_every_request_type_has_one_handler_in_the_worker():
    assert set(worker.OPERATIONS) == set(messages.REQUESTS.values())
    assert len(set(worker.OPERATIONS.values())) == len(worker.OPERATIONS)


@pytest.mark.parametrize("body, words", [
    ({"message_type": "Pickle"}, "unknown message type 'Pickle'"),
    ({"name": "relu"}, "unknown message type None"),
    ({"message_type": "Call", "name": "relu", "code": "import os"}, "Call has no field 'code'"),
    ({"message_type": "Call", "name": 3}, r"Call.name does not fit str: got a int"),
    ({"message_type": "Call", "name": "f", "args": {"x": 1}}, "Call.args does not fit"),
    ({"message_type": "Call", "name": "f", "pure": 1}, "Call.pure does not fit bool"),
    ({"message_type": "Method", "handle": "1", "method": "forward"}, "Method.handle does not fit int"),
    ({"message_type": "LoadCells", "cells": [["a", "b"]]}, "LoadCells.cells does not fit"),
    ({"message_type": "LoadCells", "cells": [("a", 1)]}, "LoadCells.cells does not fit"),
    ({"message_type": "Call"}, "malformed Call: .*name"),
], ids=lambda value: str(value)[:40])
def test_malformed_requests_are_refused(body, words):
    with pytest.raises(ProtocolError, match=words):
        messages.decode_request(_wire(body))


@pytest.mark.parametrize("body, words", [
    ({"message_type": "Call", "name": "f"}, "unknown message type 'Call'"),  # a request is not a reply
    ({"message_type": "Failure", "kind": "verdict", "message": "full marks"}, "unknown failure kind 'verdict'"),
    ({"message_type": "Instance", "handle": 1, "type_name": "G", "methods": [1]}, "Instance.methods does not fit"),
    ({"message_type": "Loaded", "functions": [], "classes": [], "names": [], "errors": [{"cell": 1}]},
     "Loaded.errors does not fit"),
    ({"message_type": "Value", "value": 1, "rng_states": {}}, "rng_states is not a list"),
    ({"message_type": "Value", "value": 1, "score": 100}, "Value has no field 'score'"),
], ids=lambda value: str(value)[:40])
def test_forged_replies_are_refused(body, words):
    with pytest.raises(ProtocolError, match=words):
        messages.decode_reply(_wire(body))


def test_a_reply_too_large_to_send_becomes_a_result_failure():
    data = messages.encode_reply(Value(np.zeros(100_000)), "", [], max_bytes=50_000)
    reply, _ = messages.decode_reply(protocol.read_parts(io.BytesIO(data)))
    assert isinstance(reply, Failure) and reply.kind == "result" and "exceeds the limit" in reply.message


@pytest.fixture
def cells():
    here = worker.Worker(max_output_chars=1000)
    loaded = here.handle(LoadCells([
        ("one", "import numpy as np\n\ndef relu(x):\n    x[x < 0] = 0\n    return x\n\nSEED = 3\n"),
        ("two", "raise ValueError('half-finished')"),
        ("three", "def batches(n):\n    for i in range(n):\n        yield i\n\ndef number():\n    return 4\n\n"
                  "class Gate:\n    def forward(self, x):\n        return 2 * x\n"),
    ]))
    return here, loaded


def test_load_cells_records_an_error_and_runs_the_next_cell(cells):
    _, loaded = cells
    assert isinstance(loaded, Loaded)
    assert (loaded.functions, loaded.classes) == (["batches", "number", "relu"], ["Gate"])
    assert "SEED" in loaded.names and "np" in loaded.names
    assert [(error["cell"], error["type"]) for error in loaded.errors] == [("two", "ValueError")]


def test_one_call_path_with_generators_materialized(cells):
    here, _ = cells
    assert here.handle(Call("batches", args=[3])) == Value([0, 1, 2])
    assert here.handle(Call("batches", args=[2], as_list=True)) == Value([0, 1])
    refused = here.handle(Call("number", as_list=True))
    assert isinstance(refused, Failure) and refused.kind == "not_iterable" and refused.message == "int 4"
    impure = here.handle(Call("relu", args=[np.array([-1.0, 2.0])], arg_names=["x"], pure=True))
    assert isinstance(impure, Failure) and (impure.kind, impure.path) == ("impure", "x")
    missing = here.handle(Call("nowhere"))
    assert isinstance(missing, Failure) and (missing.kind, missing.exception) == ("exception", "NameError")


def test_instances_stay_in_the_worker(cells):
    here, _ = cells
    instance = here.handle(Construct("Gate"))
    assert isinstance(instance, Instance) and (instance.type_name, instance.methods) == ("Gate", ["forward"])
    assert here.handle(Method(instance.handle, "forward", args=[2.5])) == Value(5.0)
    absent = here.handle(Method(instance.handle, "backward"))
    assert isinstance(absent, Failure) and absent.kind == "missing"
    assert here.handle(Release(instance.handle)) == Value(None)
    unknown = here.handle(Method(instance.handle, "forward"))
    assert isinstance(unknown, Failure) and unknown.kind == "protocol"
    assert here.handle(Get(["SEED", "absent"])) == Value({"SEED": 3})
