"""What the BigCommerce tests share: recorded payloads, an account, signed headers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from connectors.channels.bigcommerce import BigCommerceConnector, sign
from connectors.channels.bigcommerce.client import BigCommerceClient
from hub.connectors.accounts import parse_accounts
from hub.connectors.ratelimit import RateLimiter
from hub.values import loads

PAYLOADS = Path(__file__).parent / "payloads"
EXPECTED = Path(__file__).parent / "expected"
SECRET = "bc-client-secret"
STORE = "abc123"
ROOT = f"https://api.bigcommerce.com/stores/{STORE}"
NOW = 1_765_000_000  # the tests' clock (seconds)


def raw(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def payload(name: str) -> Any:
    return loads(raw(name))


def document(**changes: Any) -> dict[str, Any]:
    """The assembled order document (``order_v2_document.json``), changed."""
    doc = copy.deepcopy(payload("order_v2_document.json"))
    doc.update(changes)
    return doc


def account(**keys: Any):
    values = {
        "connector": "bigcommerce",
        "client": "acme",
        "store_hash": STORE,
        "client_id": "bc-client-id",
        "client_secret": SECRET,
        "access_token": "bc-token",
        **keys,
    }
    text = "[accounts.bc-a]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
    return parse_accounts(text, "hub.toml", env={})["bc-a"]


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def connector(**keys: Any) -> tuple[BigCommerceConnector, Clock]:
    """A connector whose client never really sleeps (its limiter on a fake clock)."""
    clock = Clock()
    acc = account(**keys)
    limiter = RateLimiter(1000, 1000, clock=clock, sleep=clock.sleep)
    client = BigCommerceClient(acc, limiter=limiter, sleep=clock.sleep)
    return BigCommerceConnector(acc, client=client, clock=lambda: NOW), clock


def signed(body: bytes, *, secret: str = SECRET, at: int = NOW, msg: str = "msg_1") -> dict:
    return {
        "Content-Type": "application/json",
        "webhook-id": msg,
        "webhook-timestamp": str(at),
        "webhook-signature": sign(secret, msg, str(at), body),
    }
