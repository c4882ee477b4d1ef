"""Subscriptions, their deliveries and delegated requests as the explorer shows them.

Reads the chain side's own tables (the rows ``GET /api/subscriptions/{id}`` and
``GET /api/delegations/{owner}/{nonce}`` serve, and every node's deliveries the Coordinator
logged) and its in-memory view of the chain (head block, chain time, RPC health). Lists are
keyset-paged and filtered in SQL so that a page of 50 costs the same with 10 subscriptions or
1,000. The only RPC calls made are for an open page: the node's balance (cached for
``BALANCE_CACHE_S``) and the receipts of this node's deliveries shown (kept, as mined receipts do
not change, up to ``RECEIPT_CACHE_SIZE`` of them).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from ..explorer.queries import DelegationQuery
from ..explorer.queries import SubscriptionQuery
from .delivery import Delivery
from .delivery import DeliveryState
from .intervals import Phase
from .intervals import interval_start
from .intervals import schedule_at
from .readout import ChainReadout
from .rpc import ChainError
from .rpc import Receipt
from .status import delivery_json
from .store import Fulfillment
from .store import SubscriptionRecord
from .subscriptions import CANCELLED_ACTIVE_AT
from .subscriptions import Subscription

__all__ = [
    "BALANCE_CACHE_S",
    "RECEIPT_CACHE_SIZE",
    "ChainView",
]

BALANCE_CACHE_S = 2.0
RECEIPT_CACHE_SIZE = 4096

# The intervals of one subscription (:id) that this node worked on or any node delivered.
_INTERVALS_OF = (
    "SELECT interval FROM chain_deliveries WHERE subscription_id = :id"
    " UNION SELECT interval FROM chain_fulfillments WHERE subscription_id = :id"
)

# Values of the stored subscription tuple (chain.store keeps {"id", "values": [...]}, struct order).
_ACTIVE_AT = "json_extract(subscription, '$.values[1]')"
_PERIOD = "json_extract(subscription, '$.values[2]')"
_FREQUENCY = "json_extract(subscription, '$.values[3]')"
_CONTAINERS = "json_extract(subscription, '$.values[5]')"
_PHASE = (
    f"CASE WHEN {_ACTIVE_AT} = {CANCELLED_ACTIVE_AT} THEN 'cancelled'"
    f" WHEN :now < {_ACTIVE_AT} THEN 'not_active'"
    f" WHEN (CASE WHEN {_PERIOD} = 0 THEN 1 ELSE (:now - {_ACTIVE_AT}) / {_PERIOD} + 1 END)"
    f" <= {_FREQUENCY} THEN 'active' ELSE 'completed' END"
)


class ChainView:
    """Read-only views over one running chain side."""

    def __init__(self, readout: Callable[[], ChainReadout], db: sqlite3.Connection) -> None:
        self._readout = readout
        self._db = db
        self._balance: tuple[float, int | None, str] = (0.0, None, "")
        self._receipts: OrderedDict[tuple[str, str], Receipt] = OrderedDict()

    # ------------------------------------------------------------ overview

    async def overview(self) -> dict[str, Any]:
        chain = self._readout()
        balance, balance_error = await self._balance_now(chain)
        counts = {state.name.lower(): 0 for state in DeliveryState}
        counts.update({s.name.lower(): n for s, n in chain.store.delivery_counts().items()})
        return {
            "enabled": True,
            "chain_id": chain.chain_id or None,
            "head_block": chain.head_block,
            "chain_time": chain.chain_time or None,
            "rpc_healthy": not chain.fault,
            "last_error": chain.fault,
            "address": chain.address,
            "balance_wei": None if balance is None else str(balance),
            "balance_error": balance_error,
            "in_flight": chain.in_flight,
            "deliveries": counts,
            "subscriptions": self._subscription_counts(),
            "recent_failures": self._recent_failed_deliveries(),
        }

    async def _balance_now(self, chain: ChainReadout) -> tuple[int | None, str]:
        checked, balance, error = self._balance
        if time.monotonic() - checked >= BALANCE_CACHE_S:
            try:
                balance, error = await chain.client.balance(chain.address), ""
            except ChainError as e:
                balance, error = None, e.reason
            self._balance = (time.monotonic(), balance, error)
        return balance, error

    def _subscription_counts(self) -> dict[str, int]:
        counts = {"tracked": 0, "ignored": 0}
        for tracked, n in self._db.execute(
            "SELECT tracked, COUNT(*) FROM chain_subscriptions GROUP BY tracked"
        ):
            counts["tracked" if tracked else "ignored"] = int(n)
        return counts

    def _recent_failed_deliveries(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT subscription_id, interval, reason, container_error, updated_at"
            " FROM chain_deliveries WHERE state = ? ORDER BY updated_at DESC LIMIT 5",
            (int(DeliveryState.FAILED),),
        ).fetchall()
        return [
            {
                "subscription_id": r[0],
                "interval": r[1],
                "reason": r[2],
                "container_error": r[3],
                "updated_at": r[4],
            }
            for r in rows
        ]

    # ------------------------------------------------------------ subscriptions

    def subscriptions(self, query: SubscriptionQuery) -> dict[str, Any]:
        """One page of subscriptions known to this node, newest id first."""
        chain = self._readout()
        now = chain.chain_time
        clauses: list[str] = []
        params: dict[str, Any] = {"now": now}
        if query.subscription_id is not None:
            clauses.append("subscription_id = :id")
            params["id"] = query.subscription_id
        if query.state in ("tracked", "ignored"):
            clauses.append("tracked = :tracked")
            params["tracked"] = int(query.state == "tracked")
        elif query.state is not None:
            clauses.append(f"({_PHASE}) = :phase")
            params["phase"] = query.state
        if query.container is not None:
            hashes = _hashes_with(chain, query.container)
            marks = ", ".join(f":h{i}" for i in range(len(hashes)))
            clauses.append(f"{_CONTAINERS} IN ({marks})" if hashes else "0")
            params.update({f"h{i}": h for i, h in enumerate(hashes)})
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        total = self._db.execute(
            f"SELECT COUNT(*) FROM chain_subscriptions{where}",  # noqa: S608 - fixed clauses
            params,
        ).fetchone()[0]
        if query.before is not None:
            where += (" AND " if where else " WHERE ") + "subscription_id < :before"
            params["before"] = query.before
        ids = [
            row[0]
            for row in self._db.execute(
                f"SELECT subscription_id FROM chain_subscriptions{where}"  # noqa: S608 - fixed
                " ORDER BY subscription_id DESC LIMIT :limit",
                {**params, "limit": query.limit + 1},
            )
        ]
        more = len(ids) > query.limit
        ids = ids[: query.limit]
        latest = self._latest_deliveries(chain, ids)
        rows = []
        for sub_id in ids:
            record = chain.store.subscription(sub_id)
            if record is not None:
                rows.append(_subscription_json(chain, record, latest.get(sub_id)))
        return {
            "total": int(total),
            "chain_time": now,
            "subscriptions": rows,
            "next": ids[-1] if more else None,
        }

    async def subscription(
        self, subscription_id: int, limit: int, before: int | None
    ) -> dict[str, Any] | None:
        """One subscription with a page of its intervals (newest first): per interval, this
        node's delivery with its receipt (block, gas used) and every node's delivery logged by
        the Coordinator (who answered it)."""
        chain = self._readout()
        record = chain.store.subscription(subscription_id)
        total = self._db.execute(
            f"SELECT COUNT(*) FROM ({_INTERVALS_OF})",  # noqa: S608 - fixed
            {"id": subscription_id},
        ).fetchone()[0]
        if record is None and not total:
            return None
        intervals = [
            row[0]
            for row in self._db.execute(
                f"SELECT interval FROM ({_INTERVALS_OF})"  # noqa: S608 - fixed
                " WHERE :before IS NULL OR interval < :before ORDER BY interval DESC LIMIT :limit",
                {"id": subscription_id, "before": before, "limit": limit + 1},
            )
        ]
        more = len(intervals) > limit
        intervals = intervals[:limit]
        own = {i: chain.store.delivery(subscription_id, i) for i in intervals}
        logged = chain.store.fulfillments_of(subscription_id, intervals)
        receipts = await self._receipts_of(chain, [d.tx_hash for d in own.values() if d])
        body: dict[str, Any] = {"id": subscription_id, "chain_time": chain.chain_time}
        if record is not None:
            latest = self._latest_deliveries(chain, [subscription_id]).get(subscription_id)
            body.update(_subscription_json(chain, record, latest))
        body["deliveries_total"] = int(total)
        body["deliveries"] = [
            interval_json(i, own[i], receipts, logged[i], chain.address) for i in intervals
        ]
        body["next"] = intervals[-1] if more else None
        return body

    def _latest_deliveries(self, chain: ChainReadout, ids: Sequence[int]) -> dict[int, Delivery]:
        latest: dict[int, Delivery] = {}
        for sub_id in ids:
            row = self._db.execute(
                "SELECT MAX(interval) FROM chain_deliveries WHERE subscription_id = ?", (sub_id,)
            ).fetchone()
            if row[0] is not None:
                delivery = chain.store.delivery(sub_id, int(row[0]))
                if delivery is not None:
                    latest[sub_id] = delivery
        return latest

    async def _receipts_of(
        self, chain: ChainReadout, tx_hashes: Sequence[str]
    ) -> dict[str, Receipt]:
        genesis = chain.genesis_hash
        wanted = [h for h in dict.fromkeys(tx_hashes) if h]
        missing = [h for h in wanted if (genesis, h) not in self._receipts]
        if missing:
            found = await asyncio.gather(
                *(chain.client.receipt(h) for h in missing), return_exceptions=True
            )
            for tx_hash, receipt in zip(missing, found, strict=True):
                if isinstance(receipt, Receipt):
                    self._receipts[(genesis, tx_hash)] = receipt
            while len(self._receipts) > RECEIPT_CACHE_SIZE:
                self._receipts.popitem(last=False)
        return {h: self._receipts[(genesis, h)] for h in wanted if (genesis, h) in self._receipts}

    # ------------------------------------------------------------ delegations

    def delegations(self, query: DelegationQuery) -> dict[str, Any]:
        """One page of delegated requests, newest first."""
        chain = self._readout()
        clauses: list[str] = []
        params: list[Any] = []
        if query.state is not None:
            clauses.append("state = ?")
            params.append(int(DeliveryState[query.state.upper()]))
        if query.subscription_id is not None:
            clauses.append("subscription_id = ?")
            params.append(query.subscription_id)
        if query.owner is not None:
            clauses.append("lower(owner) = lower(?)")
            params.append(query.owner)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        total = self._db.execute(
            f"SELECT COUNT(*) FROM chain_delegations{where}",  # noqa: S608 - fixed clauses
            params,
        ).fetchone()[0]
        if query.before is not None:
            where += (" AND " if where else " WHERE ") + "rowid < ?"
            params.append(query.before)
        rows = self._db.execute(
            "SELECT rowid, owner, nonce FROM chain_delegations"  # noqa: S608 - fixed clauses
            f"{where} ORDER BY rowid DESC LIMIT ?",
            [*params, query.limit + 1],
        ).fetchall()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        items = []
        for cursor, owner, nonce in rows:
            record = chain.store.delegation(owner, nonce)
            if record is None:
                continue
            delegation, delivery = record.delegation, record.delivery
            sub = delegation.subscription
            items.append(
                {
                    "cursor": cursor,
                    "owner": sub.owner,
                    "nonce": delegation.nonce,
                    "expiry": delegation.expiry,
                    "containers": list(chain.lookup.resolve(sub.container_id)),
                    "subscription_id": delivery.subscription_id or None,
                    **_with_receipt(delivery, None),
                }
            )
        return {"total": int(total), "delegations": items, "next": rows[-1][0] if more else None}


def _subscription_json(
    chain: ChainReadout, record: SubscriptionRecord, latest: Delivery | None
) -> dict[str, Any]:
    sub, now = record.subscription, chain.chain_time
    schedule = schedule_at(sub, now)
    return {
        "id": sub.id,
        "owner": sub.owner,
        "containers": list(chain.lookup.resolve(sub.container_id)),
        "containers_hash": "0x" + sub.container_id.hex(),
        "active_at": sub.active_at,
        "period": sub.period,
        "frequency": sub.frequency,
        "redundancy": sub.redundancy,
        "lazy": sub.lazy,
        "payment_amount": str(sub.payment_amount),
        "payment_token": sub.payment_token,
        "tracked": record.tracked,
        "reason": record.reason,
        "phase": schedule.phase.name.lower(),
        "interval": schedule.interval,
        "next_due": next_due(sub, now, chain.store.delivery),
        "last": None if latest is None else _with_receipt(latest, None),
    }


def _hashes_with(chain: ChainReadout, container: str) -> list[str]:
    """The container-set hashes (as stored: 0x-hex) of every set that names ``container``."""
    return ["0x" + h.hex() for h, ids in chain.lookup.by_hash.items() if container in ids]


def next_due(
    sub: Subscription, now: int, delivery_of: Callable[[int, int], Delivery | None]
) -> dict[str, Any] | None:
    """The next interval this node has to deliver, when it is due on chain time, and in how
    many seconds (0: due now); None when the subscription has no interval left."""
    schedule = schedule_at(sub, now)
    if schedule.phase is Phase.NOT_ACTIVE:
        interval = 1
    elif schedule.phase is Phase.ACTIVE:
        interval = schedule.interval
        done = delivery_of(sub.id, interval)
        if done is not None and done.state.final:
            if schedule.wake_at is None:
                return None
            interval += 1
    else:
        return None
    at = interval_start(sub, interval)
    return {"interval": interval, "at": at, "in_seconds": max(0, at - now)}


# A delivery's fields as _with_receipt writes them (null for an interval this node did not do).
_DELIVERY_FIELDS = (
    "interval",
    "state",
    "attempts",
    "tx_hash",
    "block",
    "gas_used",
    "reverted",
    "reason",
    "container_error",
    "updated_at",
)


def interval_json(
    interval: int,
    own: Delivery | None,
    receipts: dict[str, Receipt],
    logged: Sequence[Fulfillment],
    address: str,
) -> dict[str, Any]:
    """One interval of a subscription: this node's delivery (its fields null when it has
    none) and `nodes`, every delivery the Coordinator logged for it, this node's marked."""
    if own is None:
        row: dict[str, Any] = dict.fromkeys(_DELIVERY_FIELDS)
        row["interval"] = interval
    else:
        row = _with_receipt(own, receipts.get(own.tx_hash))
    row["nodes"] = [
        {
            "node": f.node,
            "this_node": f.node.lower() == address.lower(),
            "tx_hash": f.tx_hash,
            "block": f.block_number,
        }
        for f in logged
    ]
    return row


def _with_receipt(d: Delivery, receipt: Receipt | None) -> dict[str, Any]:
    """A delivery and, once its transaction is mined, the block, gas used and whether it
    reverted (null before)."""
    return {
        **delivery_json(d),
        "block": receipt.block_number if receipt else None,
        "gas_used": receipt.gas_used if receipt else None,
        "reverted": None if receipt is None else receipt.status == 0,
    }
