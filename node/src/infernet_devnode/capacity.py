"""Fair sharing of container call slots (docs/devnode.md, "Fair sharing").

Every container call holds one slot while it runs. Three bounds decide who may take one:

- ``total`` (``server.max_container_calls``): calls in flight, whatever they are for;
- ``per_container`` (``server.max_calls_per_container``): calls to one container, so a slow or
  hanging container holds at most that many and the other containers still find free slots;
- ``reserved_onchain`` (``server.reserved_onchain_calls``): slots that off-chain and streaming
  calls never take, so a delivery starts at once even while clients keep every other slot busy.

A call that may not take a slot waits in the queue of its container and owner (the client's
address for an off-chain job, ``ONCHAIN`` for a delivery). A freed slot goes to a waiting
delivery first, then, container by container in turn, to the waiting client with the fewest calls
in flight on that container (ties in turn), so a client with a thousand queued calls delays
another client's one call by one turn, not a thousand.

Invariant: after every change no waiter could take a slot (each release hands slots out at once),
so a call that may take a slot takes it without queueing: the common path is a few comparisons.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .config import ServerConfig

__all__ = ["ONCHAIN", "CallLimits", "CallSlots"]

# The owner of every on-chain delivery's calls (no client address looks like this).
ONCHAIN = "<chain>"


@dataclass(frozen=True)
class CallLimits:
    """The resolved bounds (docs/configuration.md: server.max_container_calls and the next)."""

    total: int
    per_container: int
    reserved_onchain: int

    @classmethod
    def of(cls, server: ServerConfig) -> CallLimits:
        return cls(server.max_container_calls, server.calls_per_container, server.onchain_reserve)

    def __post_init__(self) -> None:
        if not 0 < self.per_container <= self.total or not 0 <= self.reserved_onchain < self.total:
            raise ValueError(f"inconsistent call limits: {self}")


class CallSlots:
    """The node's container call slots, shared by container and by owner (see the module)."""

    def __init__(self, limits: CallLimits) -> None:
        self.limits = limits
        self._offchain_total = limits.total - limits.reserved_onchain
        self._busy = 0
        self._busy_offchain = 0
        self._busy_by_container: dict[str, int] = {}
        self._busy_by_owner: dict[tuple[str, str], int] = {}
        # container -> owner -> waiters; both dicts keep insertion order, which is whose turn
        # comes next (a served owner or container moves to the end).
        self._waiting: dict[str, dict[str, deque[asyncio.Future[None]]]] = {}

    @property
    def busy(self) -> int:
        """Slots held now."""
        return self._busy

    def waiting(self) -> int:
        """Calls queued for a slot."""
        return sum(len(q) for owners in self._waiting.values() for q in owners.values())

    @contextlib.asynccontextmanager
    async def slot(self, container: str, owner: str) -> AsyncIterator[None]:
        """Hold one slot for a call to ``container`` on behalf of ``owner`` (waits for it)."""
        if not self.try_take(container, owner):
            await self.wait(container, owner)
        try:
            yield
        finally:
            self.release(container, owner)

    def try_take(self, container: str, owner: str) -> bool:
        """Take a slot if one may be taken now (the common path: no await, no allocation)."""
        if self._fits(container, owner == ONCHAIN):
            self._take(container, owner)
            return True
        return False

    async def wait(self, container: str, owner: str) -> None:
        """Wait in turn until a slot is taken for this call (after ``try_take`` said no)."""
        await self._wait(container, owner)

    def release(self, container: str, owner: str) -> None:
        """Give back a slot taken by ``try_take`` or ``wait``."""
        self._release(container, owner)

    def _fits(self, container: str, onchain: bool) -> bool:
        if self._busy >= self.limits.total:
            return False
        if not onchain and self._busy_offchain >= self._offchain_total:
            return False
        return self._busy_by_container.get(container, 0) < self.limits.per_container

    def _take(self, container: str, owner: str) -> None:
        self._busy += 1
        if owner != ONCHAIN:
            self._busy_offchain += 1
        _add(self._busy_by_container, container, 1)
        _add(self._busy_by_owner, (container, owner), 1)

    def _release(self, container: str, owner: str) -> None:
        self._busy -= 1
        if owner != ONCHAIN:
            self._busy_offchain -= 1
        _add(self._busy_by_container, container, -1)
        _add(self._busy_by_owner, (container, owner), -1)
        owners = self._waiting.get(container)
        if owners is not None and owner in owners:
            # Its call is over: its next one waits for the turn of the others.
            owners[owner] = owners.pop(owner)
        while self._waiting and self._grant_one():
            pass

    async def _wait(self, container: str, owner: str) -> None:
        """Queue until ``_grant_one`` has taken a slot for this call."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(container, {}).setdefault(owner, deque()).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Granted, then cancelled before it could run: hand the slot on.
                self._release(container, owner)
            else:
                self._forget(container, owner, waiter)
            raise

    def _forget(self, container: str, owner: str, waiter: asyncio.Future[None]) -> None:
        owners = self._waiting.get(container)
        queue = owners.get(owner) if owners is not None else None
        if owners is None or queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(waiter)
        if not queue:
            del owners[owner]
            if not owners:
                del self._waiting[container]

    def _grant_one(self) -> bool:
        """Give one free slot to the next waiter allowed to take it; False when none is."""
        for onchain in (True, False):
            for container, owners in self._waiting.items():
                if not self._fits(container, onchain):
                    continue
                if onchain:
                    owner: str | None = ONCHAIN if ONCHAIN in owners else None
                else:
                    busy = self._busy_by_owner
                    clients = (o for o in owners if o != ONCHAIN)
                    owner = min(clients, key=lambda o: busy.get((container, o), 0), default=None)
                if owner is None:
                    continue
                queue = owners[owner]
                waiter = queue.popleft()
                # Next turn: this owner and this container go to the back of the line.
                del owners[owner]
                if queue:
                    owners[owner] = queue
                del self._waiting[container]
                if owners:
                    self._waiting[container] = owners
                if waiter.done():  # cancelled while queued: its task forgets nothing more
                    return True
                self._take(container, owner)
                waiter.set_result(None)
                return True
        return False


def _add(counts: dict[Any, int], key: Any, delta: int) -> None:
    """Add ``delta`` to ``counts[key]``; a count that reaches 0 is removed (bounded dicts)."""
    value = counts.get(key, 0) + delta
    if value:
        counts[key] = value
    else:
        del counts[key]
