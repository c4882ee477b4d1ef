"""Worker processes never outlive the service's master process (Linux).

Hypercorn's workers are spawned children of the master. If the master dies without shutting them
down (SIGKILL, OOM killer), they would keep serving the inherited listening socket, so a restarted
service could not bind its port and the node would talk to orphans. A worker therefore asks the
kernel for SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG, see prctl(2)). A single-process
service (`--workers 1`, the default) has no workers to orphan.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys

__all__ = ["exit_with_parent"]

# <linux/prctl.h>
_PR_SET_PDEATHSIG = 1


def exit_with_parent() -> bool:
    """In a spawned worker, arrange to be terminated when the parent dies; True if armed."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return False
    # The parent may have died before the request above was made: then nobody signals us.
    if os.getppid() != parent.pid:
        os.kill(os.getpid(), signal.SIGTERM)
    return True
