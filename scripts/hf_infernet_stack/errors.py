"""What can go wrong while starting or driving a stack.

Exception
 +-- StackError    a component could not start or stop (component, reason)
 +-- DeployError   a forge script or a deployment check failed (step, reason)
"""

from __future__ import annotations


class StackError(Exception):
    """A stack component could not start or stop; names the component and the reason."""

    def __init__(self, component: str, reason: str) -> None:
        super().__init__(f"{component}: {reason}")
        self.component = component
        self.reason = reason


class DeployError(Exception):
    """A forge script or a deployment check failed; names the step and the reason."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
