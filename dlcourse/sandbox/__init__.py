"""Run student code in a separate, sandboxed worker process and grade it through proxies.

* :mod:`dlcourse.sandbox.protocol`: plain-data messages (JSON + ``.npy`` frames, never pickle).
* :mod:`dlcourse.sandbox.worker`: the process inside the sandbox (runs the solution cells).
* :mod:`dlcourse.sandbox.launcher`: :class:`Sandbox`, which starts the worker under bubblewrap
  (or, without bwrap, a restricted subprocess) and enforces time, CPU, memory and output limits.
* :mod:`dlcourse.sandbox.proxy`: :class:`RemoteCaller` and function/class proxies, so that the
  existing checks call functions that live in the worker.

The worker side (protocol, worker, test_functions) imports only numpy and the standard library.
"""

from dlcourse.sandbox.launcher import Sandbox, SandboxError, SandboxTimeout, SandboxCrashed, StudentError
from dlcourse.sandbox.proxy import RemoteCaller, RemoteFunction, RemoteObject, remote_functions

__all__ = ["Sandbox", "SandboxError", "SandboxTimeout", "SandboxCrashed", "StudentError",
           "RemoteCaller", "RemoteFunction", "RemoteObject", "remote_functions"]
