"""Crash points, for the tests that kill a process at a chosen instant (a test sending
SIGKILL from outside cannot time it to a transaction's commit).

With ``SMP_CRASH_AT=<point>`` in a process's environment, the process kills itself with
SIGKILL the first time it reaches ``crash_point("<point>")``: no cleanup, no flush, as a
power cut or the kernel's OOM killer would. Unset (always, outside those tests) a crash
point costs one comparison.
"""

from __future__ import annotations

import os
import signal

ENVIRONMENT_VARIABLE = "SMP_CRASH_AT"
_ARMED = os.environ.get(ENVIRONMENT_VARIABLE) or None


def crash_point(name: str) -> None:
    if _ARMED is not None and name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
