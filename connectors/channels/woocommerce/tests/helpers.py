"""What the WooCommerce client tests share: a connector for woo-a whose rate limiter waits on
a fake clock (nothing sleeps); the ``api`` fixture is in conftest.py."""

from __future__ import annotations

from typing import Any

from connectors.channels.woocommerce import WooCommerceConnector
from connectors.channels.woocommerce.client import WooCommerceClient
from connectors.channels.woocommerce.settings import WooCommerceSettings
from hub.connectors import Account
from hub.connectors.ratelimit import RateLimiter

#: woo-a's REST API key pair
KEY, SECRET = "ck_test_0123456789", "cs_test_9876543210"


def connector(**extra: Any) -> WooCommerceConnector:
    """woo-a's connector (5 requests/s, burst 10), with any account keys in ``extra``."""
    settings = WooCommerceSettings().load(
        {
            "connector": "woocommerce",
            "url": "https://woo.example",
            "webhook_secret": "woo-a-secret",
            "consumer_key": KEY,
            "consumer_secret": SECRET,
            **extra,
        }
    )
    account = Account(name="woo-a", connector="woocommerce", client="acme", settings=settings)
    clock = [1000.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(5, 10, clock=lambda: clock[0], sleep=sleep)
    return WooCommerceConnector(
        account, client=WooCommerceClient(account, sleep=sleep, limiter=limiter)
    )
