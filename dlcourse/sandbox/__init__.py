"""Run student code in a separate, sandboxed worker process and grade it through proxies.

* :mod:`dlcourse.sandbox.protocol`: plain-data messages (JSON + ``.npy`` frames, never pickle).
* :mod:`dlcourse.sandbox.worker`: the process inside the sandbox (runs the solution cells).
* :mod:`dlcourse.sandbox.launcher`: :class:`Sandbox`, which starts the worker under bubblewrap
  (or, without bwrap, a restricted subprocess) and enforces time, CPU, memory and output limits.
* :mod:`dlcourse.sandbox.proxy`: :class:`RemoteCaller` and function/class proxies, so that the
  existing checks call functions that live in the worker.
* :mod:`dlcourse.sandbox.provided`: numpy stand-ins for setup imports the worker lacks (erf, tqdm).
* :mod:`dlcourse.sandbox.torch_observe`: what the torch debugging checks observe, run in the
  worker next to the student's torch code (torch is mounted only for those notebooks).

The worker side (protocol, worker, test_functions, purity, provided, torch_observe) imports only
numpy, torch (torch_observe, lazily) and the standard library.
"""

from typing import Any

__all__ = ["Sandbox", "SandboxError", "SandboxTimeout", "SandboxCrashed", "StudentError",
           "RemoteCaller", "RemoteFunction", "RemoteObject", "remote_functions"]

_HOMES = {name: "launcher" for name in __all__[:5]} | {name: "proxy" for name in __all__[5:]}


def __getattr__(name: str) -> Any:
    # Imported on first use: dlcourse.grading's guard imports dlcourse.sandbox.purity,
    # and the proxy imports dlcourse.grading, so eager imports here would be circular.
    if name not in _HOMES:
        raise AttributeError(f"module 'dlcourse.sandbox' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
