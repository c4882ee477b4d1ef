"""Sample values shared by the tests of the chain package's pure modules."""

from __future__ import annotations

from infernet_devnode.chain.subscriptions import ZERO_ADDRESS
from infernet_devnode.chain.subscriptions import Subscription
from infernet_devnode.chain.subscriptions import container_set_hash

OWNER = "0x13D69Cf7d6CE4218F646B759Dcf334D82c023d8e"
COORDINATOR_ADDRESS = "0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1"
SIGNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
OTHER_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
CHAIN_ID = 31337
ETH = ZERO_ADDRESS
TOKEN = "0x6e989C01a3e3A94C973A62280a72EC335598490e"


def make_sub(**changes: object) -> Subscription:
    fields: dict[str, object] = {
        "id": 7,
        "owner": OWNER,
        "active_at": 1_000,
        "period": 60,
        "frequency": 3,
        "redundancy": 1,
        "container_id": container_set_hash(["echo"]),
        "lazy": False,
        "verifier": ZERO_ADDRESS,
        "payment_amount": 0,
        "payment_token": ETH,
        "wallet": ZERO_ADDRESS,
    }
    fields.update(changes)
    return Subscription(**fields)  # type: ignore[arg-type]
