"""What the Shopify client tests share: a connector for shop-a whose rate limiter waits on a
fake clock (nothing sleeps), and the bodies sent (the ``api`` fixture is in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import responses

from connectors.channels.shopify import ShopifyConnector
from connectors.channels.shopify.client import ShopifyClient
from connectors.channels.shopify.settings import ShopifySettings
from hub.connectors import Account
from hub.connectors.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def connector(**extra: Any) -> ShopifyConnector:
    """shop-a's connector, with any account keys in ``extra``."""
    settings = ShopifySettings().load(
        {
            "connector": "shopify",
            "shop": "shop-a.myshopify.com",
            "access_token": "shpat_test",
            "webhook_secret": "shop-a-secret",
            **extra,
        }
    )
    acct = Account(name="shop-a", connector="shopify", client="acme", settings=settings)
    clock = FakeClock()
    limiter = RateLimiter(100, 1000, clock=clock.now, sleep=clock.sleep)
    return ShopifyConnector(acct, client=ShopifyClient(acct, limiter=limiter, sleep=clock.sleep))


def sent(api: responses.RequestsMock) -> list[dict[str, Any]]:
    return [json.loads(call.request.body) for call in api.calls]
