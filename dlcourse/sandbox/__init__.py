"""Run student code in a separate, sandboxed worker process and talk to it in plain data.

The grader's side:

* :mod:`dlcourse.sandbox.launcher`: :class:`Sandbox`, the worker process: requests posted and replies
  collected within time limits; :func:`isolation_check`.
* :mod:`dlcourse.sandbox.isolation`: what the worker can see and do: the bubblewrap (or, without bwrap,
  restricted subprocess) command line and the resource limits.
* :mod:`dlcourse.sandbox.host`: the grading machine as the sandbox sees it (for ``dlcourse doctor``) and
  bwrap's errors explained; the usable cores (``dlcourse grade``'s default ``--workers``).
* :mod:`dlcourse.sandbox.errors`: :class:`SandboxError` and its kinds (timeout, crash, the student's failure).

The worker's side (shipped into the sandbox, where ``dlcourse`` is absent; each imports only the standard
library, numpy and, lazily, torch):

* :mod:`dlcourse.sandbox.worker`: the process inside the sandbox (runs the solution cells, one handler per
  request).
* :mod:`dlcourse.sandbox.messages`: the requests and replies, as dataclasses checked on arrival.
* :mod:`dlcourse.sandbox.protocol`: their wire format (JSON + ``.npy`` frames, never pickle).
* :mod:`dlcourse.sandbox.test_functions`: the grader's test functions f(x) for gradient checks (the one copy).
* :mod:`dlcourse.sandbox.purity`: detecting inputs modified in place (also used by ``dlcourse.grading``).
* :mod:`dlcourse.sandbox.provided`: numpy stand-ins for setup imports the worker lacks (erf, tqdm).
* :mod:`dlcourse.sandbox.torch_observe`: what the torch debugging checks observe, run in the worker next to
  the student's torch code (torch is mounted only for those notebooks).

This package imports nothing else from ``dlcourse``: the checks (``dlcourse.grading``) and the class grader
(``dlcourse.class_grading``, which holds the proxies that let checks call functions in the worker) build on it.
"""

from dlcourse.sandbox.errors import SandboxCrashed, SandboxError, SandboxTimeout, StudentError
from dlcourse.sandbox.launcher import Sandbox, isolation_check

__all__ = ["Sandbox", "SandboxCrashed", "SandboxError", "SandboxTimeout", "StudentError", "isolation_check"]
