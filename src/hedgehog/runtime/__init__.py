"""The OTP ideas on asyncio: processes with mailboxes, call/cast/send, monitors and links with
exit reasons, supervisors with restart strategies and intensity, a registry, injected clocks.
"""

from hedgehog.runtime.clock import Clock, VirtualClock, WallClock
from hedgehog.runtime.dynamic_supervisor import (
    DynamicSupervisor,
    count_children,
    start_child,
    terminate_child,
    which_children,
)
from hedgehog.runtime.errors import (
    KILLED,
    NOPROC,
    NORMAL,
    SHUTDOWN,
    AlreadyRegistered,
    CallExit,
    CallTimeout,
    Crash,
    InitError,
    NoProcess,
    NotQuiescent,
    ProcessError,
    is_normal_exit,
)
from hedgehog.runtime.kernel import Runtime
from hedgehog.runtime.process import NOREPLY, Continue, Down, Exit, Process
from hedgehog.runtime.supervisor import (
    ChildSpec,
    Supervisor,
    SupervisorError,
    supervisor_call,
)

__all__ = [
    "KILLED",
    "NOPROC",
    "NOREPLY",
    "NORMAL",
    "SHUTDOWN",
    "AlreadyRegistered",
    "CallExit",
    "CallTimeout",
    "ChildSpec",
    "Clock",
    "Continue",
    "Crash",
    "Down",
    "DynamicSupervisor",
    "Exit",
    "InitError",
    "NoProcess",
    "NotQuiescent",
    "Process",
    "ProcessError",
    "Runtime",
    "Supervisor",
    "SupervisorError",
    "VirtualClock",
    "WallClock",
    "count_children",
    "is_normal_exit",
    "start_child",
    "supervisor_call",
    "terminate_child",
    "which_children",
]
