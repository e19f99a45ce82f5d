"""Time the numpy reference against PyTorch on the CPU, side by side in one run.

Prints, for each workload, the median time of dlcourse and of torch and their
ratio (dlcourse / torch: below 1 means the reference is faster). Both sides are
measured in the same process, interleaved, so the ratio is robust to how busy
or fast the machine is. Usage::

    python benchmarks/bench_reference.py [--repeats 7] [--baseline-rev 0713b73]

Workloads (from issue 2):
  1. one epoch of MLP training on the digits, batch size 64, plain SGD, float64
     on both sides (the digits are float64):
     dlcourse.layers.MLP + softmax_cross_entropy + dlcourse.optim.Optimizer
     versus torch.nn.Sequential + F.cross_entropy + torch.optim.SGD;
  2. one Adam step on a 1M-element parameter (float32 and float64):
     dlcourse.optim.adam_step versus torch.optim.Adam.step (torch's default);
  3. batch norm forward + backward on a (4096, 512) input (float32 and float64):
     dlcourse.norm versus torch.nn.BatchNorm1d with autograd.

With ``--baseline-rev REV`` it also prices the answer key's readability: the
Adam step (``dlcourse/optim/adam.py`` and ``_common.py``) and batch norm
(``dlcourse/norm.py``) as they were at git revision REV (read with ``git show``
into a temporary package; nothing is downloaded) against today's, on the same
arrays, in the same run.  Revision 0713b73 is the last one with the fused,
in-place implementations (``out=`` buffers, torch's lerp and addcdiv kernels,
eps rescaled; einsum and in-place updates in batch norm); today's
``adam_step`` is the slide's six equations and batch norm its forward and
backward formulas.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlcourse.data import load_digits, minibatches
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.norm import batchnorm_backward, batchnorm_forward
from dlcourse.optim import Optimizer, adam_init, adam_step, sgd_init, sgd_step

ROOT = Path(__file__).resolve().parents[1]
SIZES = [64, 128, 64, 10]
BATCH_SIZE = 64
LR = 0.05


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call allocations and lazy imports are not the steady state
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mlp_epoch_workloads() -> tuple[Callable[[], object], Callable[[], object]]:
    X, y = load_digits()
    rng = np.random.default_rng(0)
    model = MLP(SIZES, activation="relu", rng=rng)
    optimizer = Optimizer(model.params, sgd_step, sgd_init, lr=LR)

    def numpy_epoch() -> None:
        for xb, yb in minibatches(X, y, BATCH_SIZE, shuffle=True, rng=rng):
            logits = model.forward(xb)
            _, dlogits = softmax_cross_entropy(logits, yb)
            model.backward(dlogits)
            optimizer.step(model.grads)

    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1]).to(torch.float64)
    torch_opt = torch.optim.SGD(net.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def torch_epoch() -> None:
        order = torch.randperm(len(Xt), generator=generator)
        for start in range(0, len(Xt), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            torch_opt.zero_grad()
            loss.backward()
            torch_opt.step()

    return numpy_epoch, torch_epoch


def adam_workloads(
    dtype: type, init_fn: Callable = adam_init, step_fn: Callable = adam_step
) -> tuple[Callable[[], object], Callable[[], object]]:
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(1_000_000).astype(dtype)
    grad = rng.standard_normal(1_000_000).astype(dtype)
    box = {"theta": theta, "state": init_fn(theta)}

    def numpy_step() -> None:
        box["theta"], box["state"] = step_fn(box["theta"], grad, box["state"], lr=1e-3)

    param = torch.nn.Parameter(torch.from_numpy(theta.copy()))
    param.grad = torch.from_numpy(grad.copy())
    torch_opt = torch.optim.Adam([param], lr=1e-3)

    def torch_step() -> None:
        torch_opt.step()

    return numpy_step, torch_step


def batchnorm_workloads(
    dtype: type, forward: Callable = batchnorm_forward, backward: Callable = batchnorm_backward
) -> tuple[Callable[[], object], Callable[[], object]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 512)).astype(dtype)
    dout = rng.standard_normal((4096, 512)).astype(dtype)
    gamma, beta = np.ones(512, dtype=dtype), np.zeros(512, dtype=dtype)
    running_mean, running_var = np.zeros(512, dtype=dtype), np.ones(512, dtype=dtype)

    def numpy_fwd_bwd() -> None:
        _, cache, _, _ = forward(x, gamma, beta, running_mean, running_var, training=True)
        backward(dout, cache)

    bn = torch.nn.BatchNorm1d(512, dtype=torch.from_numpy(x).dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    doutt = torch.from_numpy(dout.copy())

    def torch_fwd_bwd() -> None:
        out = bn(xt)
        torch.autograd.grad(out, (xt, bn.weight, bn.bias), doutt)

    return numpy_fwd_bwd, torch_fwd_bwd


def baseline_modules(rev: str) -> tuple[Any, Any]:
    """The modules ``adam`` (with the ``_common`` it imports) and ``norm`` as they were at git revision ``rev``.

    Each file is read with ``git show`` into a temporary package (``dlcourse._checks``, the validators, is
    today's), so nothing of the old revision is installed or downloaded.
    """
    package = "baseline_" + re.sub(r"\W", "_", rev)
    folder = Path(tempfile.mkdtemp(prefix="dlcourse_baseline_")) / package
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for path, name in (("optim/_common.py", "_common"), ("optim/adam.py", "adam"), ("norm.py", "norm")):
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:dlcourse/{path}"],
            capture_output=True, text=True, check=True,
        ).stdout
        (folder / f"{name}.py").write_text(source.replace("dlcourse.optim._common", f"{package}._common"))
    sys.path.insert(0, str(folder.parent))
    return importlib.import_module(f"{package}.adam"), importlib.import_module(f"{package}.norm")


def best_of_interleaved(functions: list[Callable[[], object]], repeats: int) -> list[float]:
    """The best of three medians of each function, the functions interleaved so that load hits them alike."""
    medians: list[list[float]] = [[] for _ in functions]
    for _ in range(3):
        for times, fn in zip(medians, functions, strict=True):
            times.append(median_time(fn, repeats))
    return [min(times) for times in medians]


def compare_with_baseline(rev: str, repeats: int) -> None:
    """Print the Adam step and batch norm at revision ``rev`` and today, each against torch, in one run."""
    old_adam, old_norm = baseline_modules(rev)
    print(f"\nreadability cost: the Adam step and batch norm at {rev} (fused, in place) vs today's "
          "(the slide's equations)")
    print(f"{'workload':34s} {rev[:9]:>9s} {'today':>9s} {'torch':>9s} {'today/old':>9s} {'old/torch':>9s} "
          f"{'today/torch':>11s}")
    for label, old_build, new_build in (
        *((f"Adam step, 1M {np.dtype(dtype).name} parameters",
           partial(adam_workloads, dtype, old_adam.adam_init, old_adam.adam_step), partial(adam_workloads, dtype))
          for dtype in (np.float32, np.float64)),
        *((f"batch norm fwd+bwd, {np.dtype(dtype).name}",
           partial(batchnorm_workloads, dtype, old_norm.batchnorm_forward, old_norm.batchnorm_backward),
           partial(batchnorm_workloads, dtype))
          for dtype in (np.float32, np.float64)),
    ):
        old_fn, torch_fn = old_build()
        new_fn, _ = new_build()
        t_old, t_new, t_torch = best_of_interleaved([old_fn, new_fn, torch_fn], repeats)
        print(f"{label:34s} {t_old * 1e3:7.2f}ms {t_new * 1e3:7.2f}ms {t_torch * 1e3:7.2f}ms {t_new / t_old:9.2f} "
              f"{t_old / t_torch:9.2f} {t_new / t_torch:11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per side (median is reported)")
    parser.add_argument("--baseline-rev", metavar="REV",
                        help="also time the Adam step and batch norm of git revision REV (e.g. 0713b73)")
    args = parser.parse_args()

    threads = torch.get_num_threads()
    print(f"numpy {np.__version__}, torch {torch.__version__}; ratio = dlcourse time / torch time")
    print("numpy's elementwise ufuncs run on one core, so the last column times torch on one thread too")
    print(f"{'workload':46s} {'dlcourse':>9s} {'torch':>9s} {'ratio':>6s} {'aim':>5s} {'1-thread':>8s}")
    for label, build, aim in [
        ("MLP epoch on digits, float64 (64-128-64-10)", mlp_epoch_workloads, 1.0),
        ("Adam step, 1M float32 parameters", lambda: adam_workloads(np.float32), 2.0),
        ("Adam step, 1M float64 parameters", lambda: adam_workloads(np.float64), 2.0),
        ("batch norm fwd+bwd, (4096, 512) float32", lambda: batchnorm_workloads(np.float32), 2.0),
        ("batch norm fwd+bwd, (4096, 512) float64", lambda: batchnorm_workloads(np.float64), 2.0),
    ]:
        numpy_fn, torch_fn = build()
        # Interleave the sides so that a burst of load hits them alike; keep the best of three medians.
        numpy_times, torch_times, torch1_times = [], [], []
        for _ in range(3):
            numpy_times.append(median_time(numpy_fn, args.repeats))
            torch_times.append(median_time(torch_fn, args.repeats))
            torch.set_num_threads(1)
            torch1_times.append(median_time(torch_fn, args.repeats))
            torch.set_num_threads(threads)
        t_np, t_torch, t_torch1 = min(numpy_times), min(torch_times), min(torch1_times)
        ratio = t_np / t_torch
        flag = "" if ratio <= aim else "  above aim"
        print(
            f"{label:46s} {t_np * 1e3:7.2f}ms {t_torch * 1e3:7.2f}ms {ratio:6.2f} {aim:5.1f} "
            f"{t_np / t_torch1:8.2f}{flag}"
        )
    if args.baseline_rev:
        compare_with_baseline(args.baseline_rev, args.repeats)


if __name__ == "__main__":
    main()
