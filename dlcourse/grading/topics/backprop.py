"""Checks for modular backprop gates (``backprop.<Gate>``) and the worked example.

A gate check receives the student's CLASS (``check(MultiplyGate,
against="backprop.MultiplyGate")``).  Each trial constructs a fresh gate
(``MultiplyGate()``; ``PowGate(exponent)``), calls ``forward(*inputs)`` and
then ``backward(dout)`` on it, and compares the forward output and the
gradients with the reference gates of :mod:`dlcourse.backprop`, on Python
numbers and elementwise on arrays.  The contract: ``backward`` returns one
gradient per input, a pair ``(dx, dy)`` for two-input gates and a single
value for one-input gates, as in the lecture's API.

Method calls on the student's object go through :func:`call_method`, which
guards them like every other student call (no reference, no torch, time
limit, inputs left untouched).  A gate caches its inputs on ``self``: that is
its contract, and it is not an input modification, so the guard's purity
watch (which looks at the arguments) still applies.

Source of the exercise: Georgia Tech CS 4644/7643 'Optimization' (modularized
forward/backward API, "gradients from multiple paths summed").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse import backprop as B
from dlcourse.grading._core import Caller, Target, Trial
from dlcourse.grading._guard import guarded_call
from dlcourse.grading._report import GradingError, describe_value
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, expect_values, one_role_target, random_array

__all__ = ["call_method"]


# ------------------------------------------------------------------ helpers


def call_method(call: Caller, obj: Any, method: str, args: Sequence[tuple[str, Any]]) -> Any:
    """``obj.method(*values)``, guarded with the target's settings when ``call`` is the student's.

    ``Caller`` only calls a role's function (here: the class); the methods of
    the object it returns are student code as well and get the same guard.
    """
    name = f"{type(obj).__name__}.{method}"
    bound = getattr(obj, method, None)
    if not callable(bound):
        raise GradingError(f"{name} is missing: the gate needs a method `def {method}(self, ...)`")
    if call.trusted:
        return bound(*(value for _, value in args))
    target = call.target
    return guarded_call(bound, name, args, pure=target.pure, forbidden=target.forbidden,
                        allowed=target.allowed, time_limit=target.time_limit)


# -------------------------------------------------------------------- gates


class _KeepsInputs:
    """Mixin for catalogued variants: also keeps the raw inputs (the reference sigmoid caches only its output)."""

    def _forward(self, *inputs):
        self.inputs = inputs
        return super()._forward(*inputs)


def _variant(base: type, backward: Callable[..., Any]) -> type:
    """``base`` with its local backward replaced: a faithful wrong gate, correct elsewhere."""
    return type(base.__name__, (_KeepsInputs, base), {"_backward": backward})


def _forgot_dout(base: type) -> type:
    """The local derivative without the upstream gradient: ``dout`` taken as all ones."""
    return _variant(base, lambda self, dz: base._backward(self, np.ones_like(dz)))


def _normal(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    return random_array(rng, shape, scale)


def _away_from_zero(rng, shape, scale):
    return rng.choice([-1.0, 1.0], shape) * (0.5 + np.abs(rng.standard_normal(shape))) * scale


def _positive(rng, shape, scale):
    return (0.2 + np.abs(rng.standard_normal(shape))) * scale


def _moderate(rng, shape, scale):
    return random_array(rng, shape, min(scale, 3.0))  # e^x: large inputs would only test overflow


@dataclass(frozen=True)
class _GateInputs:
    """How a gate's trials draw inputs.

    ``sample`` draws valid inputs; ``vectors_only`` flattens every trial
    shape (DotGate); ``param_sets`` are constructor arguments cycled over the
    trials.
    """

    sample: Callable[..., np.ndarray] = _normal
    vectors_only: bool = False
    param_sets: tuple[dict[str, Any], ...] = ({},)


_PLAIN = _GateInputs()


# (label, shape or None for Python floats, scale)
_VISIBLE_CASES = (("Python numbers", None, 1.0), ("an odd-sized vector", (7,), 1.0),
                  ("a (3, 5) matrix of large values", (3, 5), 5.0))
_HIDDEN_CASES = (("a batch of one row", (1, 4), 1.0), ("a (2, 3, 4) array", (2, 3, 4), 1.0),
                 ("tiny values around 1e-3", (9,), 1e-3), ("Python numbers of another size", None, 3.0))


def _draw(rng: np.random.Generator, spec: _GateInputs, n_inputs: int, shape: tuple[int, ...] | None,
          scale: float, dtype: Any = np.float64) -> tuple[list[Any], Any]:
    """Inputs and an upstream gradient ``dout`` of the output's shape (Python floats when ``shape`` is None)."""
    if shape is None:
        return [float(spec.sample(rng, (), scale)) for _ in range(n_inputs)], float(rng.standard_normal())
    inputs = [spec.sample(rng, shape, scale).astype(dtype) for _ in range(n_inputs)]
    return inputs, random_array(rng, () if spec.vectors_only else shape, 1.0, dtype)


def _gate_trials(gate: type, spec: _GateInputs) -> Callable[[np.random.Generator, bool], list[Trial]]:
    names = gate.input_names

    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        def make(label, shape, scale, params, dtype=np.float64, **options) -> Trial:
            if spec.vectors_only:
                shape = (math.prod(shape),) if shape else (1,)
                size = "large " if scale > 1 else "tiny " if scale < 1 else ""
                label = label if label.startswith(("one gate", "float32")) else f"vectors of {shape[0]} {size}values"
            inputs, dout = _draw(rng, spec, len(names), shape, scale, dtype)
            return Trial(label, [*zip(names, inputs, strict=True), ("dout", dout)], dict(params), **options)

        cases = _VISIBLE_CASES + (_HIDDEN_CASES if hidden else ())
        made = [make(label, shape, scale, spec.param_sets[index % len(spec.param_sets)])
                for index, (label, shape, scale) in enumerate(cases)]
        if hidden:
            params = spec.param_sets[-1]
            warmup, _ = _draw(rng, spec, len(names), (5,), 1.0)
            made.append(make("one gate used twice: backward must use the inputs of the latest forward",
                             (5,), 1.0, params, extra={"warmup": list(zip(names, warmup, strict=True))}))
            other, _ = _draw(rng, spec, len(names), (5,), 1.0)
            made.append(make("two gates at once: each backward must use its own gate's inputs", (5,), 1.0, params,
                             extra={"other_gate": list(zip(names, other, strict=True))}))
            made.append(make("float32 arrays", (4, 3), 2.0, params, np.float32, tolerance=FLOAT32_TOLERANCE))
        return made

    return trials


def _gate_target(name: str, gate: type, rule: str, mistakes: Sequence[tuple[str, str, Callable[..., Any]]],
                 forgot_dout: str, inputs: _GateInputs = _PLAIN) -> Target:
    """The check ``name`` (``"backprop.<gate's class name>"``) of a reference gate class.

    ``rule`` is the backward formula quoted in feedback; ``mistakes`` are
    ``(id, sentence, local backward of the wrong gate)``, followed by the
    mistake ``forgot_dout`` (its id): the local derivative without the
    upstream gradient, which every gate can make.
    """
    role = gate.__name__
    if name != f"backprop.{role}":
        raise ValueError(f"the check of {role} must be called 'backprop.{role}', not {name!r}")
    input_names = gate.input_names
    grad_names = tuple(f"d{input_name}" for input_name in input_names)
    forward_label = f"{role}().forward({', '.join(input_names)})"
    backward_label = f"backward(dout) = {grad_names[0] if len(grad_names) == 1 else '(' + ', '.join(grad_names) + ')'}"

    def observe(call: Caller, trial: Trial) -> dict[str, Any]:
        # constructor arguments (PowGate's exponent) are shown as keywords but passed by position
        gate_object = call(role, list(trial.kwargs.items()))
        if not callable(getattr(gate_object, "forward", None)):
            raise GradingError(f"{role}() should create a gate object with forward and backward methods; "
                               f"it gave {describe_value(gate_object)}")
        if "warmup" in trial.extra:
            call_method(call, gate_object, "forward", trial.extra["warmup"])
        output = call_method(call, gate_object, "forward", trial.args[:-1])
        if "other_gate" in trial.extra:  # a second gate's forward in between: state kept on the class shows
            call_method(call, call(role, list(trial.kwargs.items())), "forward", trial.extra["other_gate"])
        grads = call_method(call, gate_object, "backward", trial.args[-1:])
        return {forward_label: output, backward_label: expect_values(grads, f"{role}.backward", grad_names)}

    chain_rule = f"Multiply the local derivative by the upstream gradient dout (chain rule): {rule}."
    wrong_gates = [(mistake, message, _variant(gate, backward)) for mistake, message, backward in mistakes]
    wrong_gates.append((forgot_dout, chain_rule, _forgot_dout(gate)))
    return one_role_target(name, role, gate, _gate_trials(gate, inputs), observe, wrong_gates,
                           what="forward/backward passes")


# ----------------------------------------------------------- worked example

_WORKED_OUTPUTS = ("f", "df/dx1", "df/dx2")


def _worked_example_reference(x1: float, x2: float) -> tuple[float, float, float]:
    """(f, df/dx1, df/dx2) of f = x1 x2 + sin(x2) from :func:`dlcourse.backprop.worked_example`."""
    example = B.worked_example(x1, x2)
    return float(example.f), float(example.x1bar), float(example.x2bar)


def _worked_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    cases = [("two moderate numbers", 1.0), ("numbers of either sign", 2.0), ("larger numbers", 10.0)]
    if hidden:
        cases += [("x2 = 0 (cos(x2) = 1)", 1.0), ("tiny numbers", 1e-6), ("large numbers", 50.0),
                  ("numbers near 1", 0.1)]
    trials = []
    for label, scale in cases:
        x1, x2 = (float(v) for v in rng.standard_normal(2) * scale)
        if label.startswith("x2 = 0"):
            x2 = 0.0
        elif label.startswith("numbers near 1"):
            x1, x2 = 1.0 + x1, 1.0 + x2
        trials.append(Trial(label, [("x1", x1), ("x2", x2)]))
    return trials


def _observe_worked(call: Caller, trial: Trial) -> dict[str, Any]:
    values = expect_values(call("worked_example", trial.args), "worked_example", _WORKED_OUTPUTS)
    return dict(zip(_WORKED_OUTPUTS, values, strict=True))


def _worked(dx1: Callable[[float, float], float], dx2: Callable[[float, float], float]) -> Callable[..., Any]:
    """A worked example with the right f and the given (wrong) gradients."""
    return lambda x1, x2: (x1 * x2 + math.sin(x2), dx1(x1, x2), dx2(x1, x2))


_WORKED_MISTAKES = (
    ("x2_missing_sin_path", "x2 reaches f along two paths, through sin(x2) and through x1 * x2: add both, "
     "df/dx2 = x1 + cos(x2) (you left out cos(x2)).", _worked(lambda a, b: b, lambda a, b: a)),
    ("x2_missing_product_path", "x2 reaches f along two paths, through sin(x2) and through x1 * x2: add both, "
     "df/dx2 = cos(x2) + x1 (you left out x1).", _worked(lambda a, b: b, lambda a, b: math.cos(b))),
    ("paths_multiplied", "Gradients arriving along different paths are added, not multiplied: df/dx2 = x1 + cos(x2).",
     _worked(lambda a, b: b, lambda a, b: a * math.cos(b))),
    ("product_swapped", "In x1 * x2 each input gets the OTHER input: df/dx1 = x2, and the product path gives x2 "
     "the value x1.", _worked(lambda a, b: a, lambda a, b: b + math.cos(b))),
    ("sin_path_sin", "The derivative of sin(x2) is cos(x2): df/dx2 = x1 + cos(x2).",
     _worked(lambda a, b: b, lambda a, b: a + math.sin(b))),
)


TARGETS: tuple[Target, ...] = (
    _gate_target("backprop.MultiplyGate", B.MultiplyGate, "dx = y * dout, dy = x * dout", (
        ("multiply_swapped", "Each input of a product gets the OTHER input times dout: dx = y * dout, "
         "dy = x * dout (you swapped them).", lambda self, dz: (self.x * dz, self.y * dz)),
    ), forgot_dout="MultiplyGate_forgot_dout"),
    _gate_target("backprop.AddGate", B.AddGate, "dx = dout, dy = dout", (
        ("add_second_zero", "Addition passes dout unchanged to BOTH inputs: return (dout, dout), not (dout, 0).",
         lambda self, dz: (1.0 * dz, np.zeros_like(dz))),
    ), forgot_dout="AddGate_forgot_dout"),
    _gate_target("backprop.SinGate", B.SinGate, "dx = cos(x) * dout", (
        ("sin_grad_sin", "The derivative of sin is cos: dx = cos(x) * dout, not sin(x) * dout.",
         lambda self, dz: np.sin(self.x) * dz),
    ), forgot_dout="SinGate_forgot_dout"),
    _gate_target("backprop.CosGate", B.CosGate, "dx = -sin(x) * dout", (
        ("cos_grad_sign", "The derivative of cos(x) is -sin(x): dx = -sin(x) * dout (mind the minus sign).",
         lambda self, dz: np.sin(self.x) * dz),
    ), forgot_dout="CosGate_forgot_dout"),
    _gate_target("backprop.ExpGate", B.ExpGate, "dx = exp(x) * dout", (),
                 forgot_dout="ExpGate_forgot_dout", inputs=_GateInputs(sample=_moderate)),
    _gate_target("backprop.SigmoidGate", B.SigmoidGate, "dx = s * (1 - s) * dout with s = sigmoid(x)", (
        ("sigmoid_one_minus_x", "The local derivative is s * (1 - s) with s = sigmoid(x) in BOTH factors; "
         "you wrote sigmoid(x) * (1 - x).", lambda self, dz: self.z * (1.0 - self.inputs[0]) * dz),
        ("sigmoid_grad_of_x", "Apply s * (1 - s) to the sigmoid's OUTPUT s = sigmoid(x) (cache it in forward), "
         "not to the input x.", lambda self, dz: self.inputs[0] * (1.0 - self.inputs[0]) * dz),
    ), forgot_dout="SigmoidGate_forgot_dout"),
    _gate_target("backprop.ReciprocalGate", B.ReciprocalGate, "dx = -dout / x**2", (
        ("reciprocal_sign", "d(1/x)/dx = -1/x**2: you lost the minus sign.", lambda self, dz: dz / self.x**2),
        ("reciprocal_not_squared", "d(1/x)/dx = -1/x**2, with x squared: dx = -dout / x**2.",
         lambda self, dz: -dz / self.x),
    ), forgot_dout="ReciprocalGate_forgot_dout", inputs=_GateInputs(sample=_away_from_zero)),
    _gate_target("backprop.MaxGate", B.MaxGate, "the larger input gets dout, the other 0", (
        ("max_both_get_dout", "max routes dout only to the input that was larger; the other input gets 0.",
         lambda self, dz: (1.0 * dz, 1.0 * dz)),
        ("max_to_smaller", "dout goes to the input that was LARGER in forward (x > y gives dx = dout), the other "
         "gets 0.", lambda self, dz: B.MaxGate._backward(self, dz)[::-1]),
    ), forgot_dout="MaxGate_forgot_dout"),
    _gate_target("backprop.DotGate", B.DotGate, "dw = x * dout, dx = w * dout", (
        ("dot_swapped", "Each vector of a dot product gets the OTHER vector times dout: dw = x * dout, dx = w * dout.",
         lambda self, dz: (self.w * dz, self.x * dz)),
    ), forgot_dout="DotGate_forgot_dout", inputs=_GateInputs(vectors_only=True)),
    _gate_target("backprop.PowGate", B.PowGate, "dx = p * x**(p - 1) * dout", (
        ("pow_exponent_not_lowered", "d(x**p)/dx = p * x**(p - 1): lower the exponent by one.",
         lambda self, dz: self.exponent * self.x**self.exponent * dz),
        ("pow_missing_factor_p", "d(x**p)/dx = p * x**(p - 1): multiply by the exponent p.",
         lambda self, dz: self.x ** (self.exponent - 1.0) * dz),
    ), forgot_dout="PowGate_forgot_dout", inputs=_GateInputs(sample=_positive, param_sets=(
        {"exponent": 2.0}, {"exponent": 3.0}, {"exponent": 0.5}, {"exponent": -1.0}, {"exponent": 1.5},
        {"exponent": 0.0}, {"exponent": 1.0}))),
    one_role_target("backprop.worked_example", "worked_example", _worked_example_reference, _worked_trials,
                    _observe_worked, _WORKED_MISTAKES, what="(f, df/dx1, df/dx2) triples"),
)
