"""Webhook signature checks on the raw body, always in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)) as Shopify and WooCommerce send it."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_hmac_sha256_base64(secrets: Iterable[str], body: bytes, signature: str | None) -> bool:
    """True when ``signature`` matches the body under any of ``secrets`` (rotation).

    Every secret is tried even after a match, so timing does not tell which one matched.
    """
    if not signature:
        return False
    given = signature.strip().encode()
    ok = False
    for secret in secrets:
        if not secret:  # an empty key is no secret at all
            continue
        expected = hmac_sha256_base64(secret, body).encode()
        ok |= hmac.compare_digest(expected, given)
    return ok
