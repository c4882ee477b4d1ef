"""Chain-side durable state in the node's SQLite database (the same file as the job store).

Tables (all prefixed `chain_` so they never collide with the job store's):
    chain_deliveries    one row per (subscription, interval) this node worked on
    chain_delegations   delegated requests accepted by the API, until delivered or given up
    chain_subscriptions last known subscription state and why it is (not) tracked
    chain_fulfillments  every node's delivery seen on chain (SubscriptionFulfilled logs) to a
                        subscription in chain_subscriptions, with the interval it answered
    chain_identity      the chain (id, genesis hash) the rows above belong to

The rows are only true of one chain: a store reused against a fresh anvil would otherwise skip
deliveries it recorded on the old one. `adopt` compares the stored identity with the endpoint's
and clears the chain tables when they differ; job records (another component's tables) stay.

Rows are written before the action they describe (a signed transaction is stored before it is
broadcast), so a restart can tell "sent, maybe mined" apart from "never sent".
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from ..store import Store
from .delivery import Delivery
from .delivery import DeliveryState
from .eip712 import SignedDelegation
from .rpc import ChainIdentity
from .subscriptions import Subscription

__all__ = ["ChainStore", "DelegationRecord", "Fulfillment", "SubscriptionRecord"]

# Tables holding facts about one chain; cleared together when the chain changes.
_CHAIN_TABLES = (
    "chain_deliveries",
    "chain_delegations",
    "chain_subscriptions",
    "chain_fulfillments",
)

# Migrations of the "chain" component (append only; see store.Store.migrate).
_MIGRATIONS = [
    """
CREATE TABLE chain_deliveries (
    subscription_id INTEGER NOT NULL,
    interval INTEGER NOT NULL,
    state INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    tx_hash TEXT NOT NULL DEFAULT '',
    raw_tx TEXT NOT NULL DEFAULT '',
    container_error TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (subscription_id, interval)
);
CREATE TABLE chain_delegations (
    owner TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    request TEXT NOT NULL,
    subscription_id INTEGER NOT NULL DEFAULT 0,
    interval INTEGER NOT NULL DEFAULT 0,
    state INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    tx_hash TEXT NOT NULL DEFAULT '',
    raw_tx TEXT NOT NULL DEFAULT '',
    container_error TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (owner, nonce)
);
CREATE TABLE chain_subscriptions (
    subscription_id INTEGER PRIMARY KEY,
    subscription TEXT NOT NULL,
    tracked INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL
)
""",
    """
CREATE TABLE chain_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    chain_id INTEGER NOT NULL,
    genesis_hash TEXT NOT NULL,
    updated_at REAL NOT NULL
)
""",
    """
CREATE TABLE chain_fulfillments (
    subscription_id INTEGER NOT NULL,
    interval INTEGER NOT NULL,
    node TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX chain_fulfillments_by_interval ON chain_fulfillments (subscription_id, interval)
""",
]


@dataclass(frozen=True)
class SubscriptionRecord:
    subscription: Subscription
    tracked: bool
    reason: str


@dataclass(frozen=True)
class DelegationRecord:
    delegation: SignedDelegation
    delivery: Delivery  # subscription_id is 0 until the Coordinator has created it


@dataclass(frozen=True)
class Fulfillment:
    """One delivery by any node, as the Coordinator logged it (SubscriptionFulfilled(id, node)):
    the interval is the one current at the block's timestamp, the only one deliverCompute
    accepts (infernet-sdk v1.1.0, IntervalMismatch)."""

    subscription_id: int
    interval: int
    node: str  # checksummed
    tx_hash: str
    block_number: int
    log_index: int


def _sub_to_json(sub: Subscription) -> str:
    values = list(sub.as_tuple())
    values[5] = "0x" + sub.container_id.hex()
    return json.dumps({"id": sub.id, "values": values})


def _sub_from_json(text: str) -> Subscription:
    raw = json.loads(text)
    values = list(raw["values"])
    values[5] = bytes.fromhex(values[5][2:])
    return Subscription.from_tuple(int(raw["id"]), values)


def _delegation_to_json(d: SignedDelegation) -> str:
    return json.dumps(
        {
            "subscription": json.loads(_sub_to_json(d.subscription)),
            "nonce": d.nonce,
            "expiry": d.expiry,
            "v": d.v,
            "r": str(d.r),
            "s": str(d.s),
            "data": d.data,
        }
    )


def _delegation_from_json(text: str) -> SignedDelegation:
    raw = json.loads(text)
    return SignedDelegation(
        subscription=_sub_from_json(json.dumps(raw["subscription"])),
        nonce=int(raw["nonce"]),
        expiry=int(raw["expiry"]),
        v=int(raw["v"]),
        r=int(raw["r"]),
        s=int(raw["s"]),
        data=raw["data"],
    )


# A Delivery's columns, shared by chain_deliveries and chain_delegations (same names and order).
_DELIVERY_COLUMNS = (
    "subscription_id, interval, state, attempts, reason, tx_hash, raw_tx, container_error,"
    " updated_at"
)
_MARKS = ", ".join("?" * len(_DELIVERY_COLUMNS.split(",")))
# Built from the constants above only: no value ever reaches the SQL text.
_INSERT_DELIVERY = (
    f"INSERT OR REPLACE INTO chain_deliveries ({_DELIVERY_COLUMNS}) VALUES ({_MARKS})"  # noqa: S608
)
_INSERT_DELEGATION = (
    "INSERT OR REPLACE INTO chain_delegations (owner, nonce, request, "  # noqa: S608
    f"{_DELIVERY_COLUMNS}) VALUES (?, ?, ?, {_MARKS})"
)


def _delivery_values(delivery: Delivery) -> tuple[Any, ...]:
    """A Delivery's values in `_DELIVERY_COLUMNS` order."""
    return (
        delivery.subscription_id,
        delivery.interval,
        int(delivery.state),
        delivery.attempts,
        delivery.reason,
        delivery.tx_hash,
        delivery.raw_tx,
        delivery.container_error,
        delivery.updated_at,
    )


def _delivery_from_row(row: sqlite3.Row) -> Delivery:
    return Delivery(
        subscription_id=row["subscription_id"],
        interval=row["interval"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        reason=row["reason"],
        tx_hash=row["tx_hash"],
        raw_tx=row["raw_tx"],
        container_error=row["container_error"],
        updated_at=row["updated_at"],
    )


class ChainStore:
    """Chain tables in the node's `Store`; every write commits before returning.

    Args:
        store: the open `Store` shared with the job records (same file, same connection).
    """

    def __init__(self, store: Store) -> None:
        store.migrate("chain", _MIGRATIONS)
        self._store = store
        self._db = store.connection

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        cursor = self._db.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return list(cursor.fetchall())

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes inside the block commit together (one transaction instead of one each)."""
        with self._store.transaction():
            yield

    # ------------------------------------------------------------ chain identity

    def identity(self) -> ChainIdentity | None:
        """The chain the stored rows belong to (None for a new store or one older than this)."""
        rows = self._exec("SELECT chain_id, genesis_hash FROM chain_identity WHERE id = 1")
        return ChainIdentity(rows[0]["chain_id"], rows[0]["genesis_hash"]) if rows else None

    def adopt(self, identity: ChainIdentity) -> ChainIdentity | None:
        """Bind the store to `identity`; returns the previous identity when it differed.

        A different previous identity means every chain row describes another chain: they are
        deleted in the same transaction that records the new identity. A store without an
        identity (new, or written before identities were recorded) is adopted as it is.
        """
        previous = self.identity()
        with self._store.transaction() as connection:
            if previous is not None and previous != identity:
                for table in _CHAIN_TABLES:
                    connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            connection.execute(
                "INSERT OR REPLACE INTO chain_identity (id, chain_id, genesis_hash, updated_at)"
                " VALUES (1, ?, ?, ?)",
                (identity.chain_id, identity.genesis_hash, time.time()),
            )
        return previous if previous is not None and previous != identity else None

    # ------------------------------------------------------------ deliveries

    def delivery(self, subscription_id: int, interval: int) -> Delivery | None:
        rows = self._exec(
            "SELECT * FROM chain_deliveries WHERE subscription_id = ? AND interval = ?",
            (subscription_id, interval),
        )
        return _delivery_from_row(rows[0]) if rows else None

    def put_delivery(self, delivery: Delivery) -> Delivery:
        stamped = replace(delivery, updated_at=time.time())
        self._exec(
            _INSERT_DELIVERY,
            _delivery_values(stamped),
        )
        return stamped

    def deliveries_in(self, *states: DeliveryState) -> list[Delivery]:
        marks = ",".join("?" * len(states))
        rows = self._exec(
            f"SELECT * FROM chain_deliveries WHERE state IN ({marks})",  # noqa: S608 - only "?"
            tuple(int(s) for s in states),
        )
        return [_delivery_from_row(r) for r in rows]

    def deliveries_of(self, subscription_id: int) -> list[Delivery]:
        rows = self._exec(
            "SELECT * FROM chain_deliveries WHERE subscription_id = ? ORDER BY interval",
            (subscription_id,),
        )
        return [_delivery_from_row(r) for r in rows]

    def delivery_counts(self) -> dict[DeliveryState, int]:
        rows = self._exec("SELECT state, COUNT(*) AS n FROM chain_deliveries GROUP BY state")
        return {DeliveryState(r["state"]): r["n"] for r in rows}

    # ------------------------------------------------------------ subscriptions

    def put_subscription(self, sub: Subscription, *, tracked: bool, reason: str = "") -> None:
        self._exec(
            "INSERT OR REPLACE INTO chain_subscriptions (subscription_id, subscription, tracked,"
            " reason, updated_at) VALUES (?, ?, ?, ?, ?)",
            (sub.id, _sub_to_json(sub), int(tracked), reason, time.time()),
        )

    def subscription(self, subscription_id: int) -> SubscriptionRecord | None:
        rows = self._exec(
            "SELECT * FROM chain_subscriptions WHERE subscription_id = ?", (subscription_id,)
        )
        if not rows:
            return None
        row = rows[0]
        return SubscriptionRecord(
            _sub_from_json(row["subscription"]), bool(row["tracked"]), row["reason"]
        )

    # ------------------------------------------------------------ every node's deliveries

    def put_fulfillments(self, fulfillments: Sequence[Fulfillment]) -> None:
        """Record logged deliveries; a log read twice (a resync) is recorded once."""
        with self._store.transaction() as connection:
            connection.executemany(
                "INSERT OR IGNORE INTO chain_fulfillments (subscription_id, interval, node,"
                " tx_hash, block_number, log_index) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (f.subscription_id, f.interval, f.node, f.tx_hash, f.block_number, f.log_index)
                    for f in fulfillments
                ],
            )

    def fulfillments_of(
        self, subscription_id: int, intervals: Sequence[int]
    ) -> dict[int, list[Fulfillment]]:
        """Interval -> the deliveries logged for it, in chain order."""
        marks = ",".join("?" * len(intervals))
        rows = self._exec(
            "SELECT * FROM chain_fulfillments"  # noqa: S608 - only "?"
            f" WHERE subscription_id = ? AND interval IN ({marks})"
            " ORDER BY block_number, log_index",
            (subscription_id, *intervals),
        )
        found: dict[int, list[Fulfillment]] = {i: [] for i in intervals}
        for r in rows:
            # the table's columns are Fulfillment's fields
            found[r["interval"]].append(Fulfillment(**dict(r)))
        return found

    # ------------------------------------------------------------ delegations

    def put_delegation(self, delegation: SignedDelegation, delivery: Delivery) -> Delivery:
        stamped = replace(delivery, updated_at=time.time())
        self._exec(
            _INSERT_DELEGATION,
            (
                delegation.subscription.owner,
                delegation.nonce,
                _delegation_to_json(delegation),
                *_delivery_values(stamped),
            ),
        )
        return stamped

    def delegation(self, owner: str, nonce: int) -> DelegationRecord | None:
        rows = self._exec(
            "SELECT * FROM chain_delegations WHERE owner = ? AND nonce = ?", (owner, nonce)
        )
        return self._delegation_record(rows[0]) if rows else None

    def delegations_in(self, *states: DeliveryState) -> list[DelegationRecord]:
        marks = ",".join("?" * len(states))
        rows = self._exec(
            f"SELECT * FROM chain_delegations WHERE state IN ({marks})",  # noqa: S608 - only "?"
            tuple(int(s) for s in states),
        )
        return [self._delegation_record(r) for r in rows]

    @staticmethod
    def _delegation_record(row: sqlite3.Row) -> DelegationRecord:
        return DelegationRecord(
            delegation=_delegation_from_json(row["request"]), delivery=_delivery_from_row(row)
        )
