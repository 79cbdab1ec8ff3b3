"""Shared bits of the eBay connector tests: an account, payloads, the fake token endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import responses

from connectors.channels.ebay import EbayConnector
from connectors.channels.ebay.client import EbayClient
from connectors.channels.ebay.settings import EbaySettings
from hub.connectors import Account
from hub.connectors.ratelimit import RateLimiter
from hub.values import loads

HERE = Path(__file__).parent
PAYLOADS = HERE / "payloads"
API = "https://api.ebay.com"
TOKEN = f"{API}/identity/v1/oauth2/token"
VERIFICATION_TOKEN = "hub-ebay-verification-token-0123456789abcdef"
ENDPOINT = "https://hub.example/webhooks/acme-ebay"


def settings(**extra: Any) -> dict[str, Any]:
    raw = {
        "connector": "ebay",
        "client": "acme",
        "marketplace_id": "EBAY_GB",
        "client_id": "AcmeHub-PRD-0123456789-abcdef01",
        "client_secret": "PRD-0123456789ab-cdef-0123-4567-89ab",
        "refresh_token": "v^1.1#i^1#refresh-token-for-tests",
        "verification_token": VERIFICATION_TOKEN,
        "endpoint_url": ENDPOINT,
        **extra,
    }
    return EbaySettings().load(raw)


def account(**extra: Any) -> Account:
    return Account(name="acme-ebay", connector="ebay", client="acme", settings=settings(**extra))


class FakeTime:
    """A clock that moves only when something sleeps: no test really waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def connector(**extra: Any) -> EbayConnector:
    acct = account(**extra)
    time = FakeTime()
    limiter = RateLimiter(1000, 1000, clock=time.clock, sleep=time.sleep)
    client = EbayClient(acct, limiter=limiter, sleep=time.sleep, clock=time.clock)
    return EbayConnector(acct, client=client)


def payload(name: str) -> Any:
    return loads((PAYLOADS / name).read_bytes())


def raw(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def vector() -> dict[str, Any]:
    return json.loads(
        raw("notifications/notification_MARKETPLACE_ACCOUNT_DELETION_signed_testvector.json")
    )


def vector_body() -> bytes:
    """The test vector's message as eBay sends it: JSON.stringify's compact form."""
    return json.dumps(vector()["message"], separators=(",", ":")).encode()


def tokens(mock: responses.RequestsMock, base: str = API) -> None:
    """The token endpoint: a user token for refresh_token grants, an app token otherwise."""

    def answer(request):  # type: ignore[no-untyped-def]
        name = (
            "token_user_built.json" if "refresh_token" in request.body else "token_app_built.json"
        )
        return 200, {"Content-Type": "application/json"}, raw(name)

    mock.add_callback(responses.POST, f"{base}/identity/v1/oauth2/token", callback=answer)


def own_key_signer(kid: str = "test-kid-0001"):  # type: ignore[no-untyped-def]
    """A key pair of the test's own: ``(sign(body) -> X-EBAY-SIGNATURE, getPublicKey answer)``,
    signed the way eBay signs (ECDSA P-256 over the body, SHA-1, DER, base64 JSON header)."""
    import base64 as b64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    one_line = "".join(pem.decode().splitlines())  # as eBay gives it: no line breaks

    def sign(body: bytes) -> str:
        signature = private.sign(body, ec.ECDSA(hashes.SHA1()))
        header = {
            "alg": "ecdsa",
            "kid": kid,
            "signature": b64.b64encode(signature).decode(),
            "digest": "SHA1",
        }
        return b64.b64encode(json.dumps(header).encode()).decode()

    return sign, {"key": one_line, "algorithm": "ECDSA", "digest": "SHA1"}


def order_notification(order_id: str, topic: str = "ORDER_CONFIRMATION") -> bytes:
    return json.dumps(
        {
            "metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": False},
            "notification": {
                "notificationId": f"n-{order_id}-{topic}",
                "eventDate": "2026-12-01T09:15:05.000Z",
                "publishDate": "2026-12-01T09:15:06.000Z",
                "publishAttemptCount": 1,
                "data": {"orderId": order_id},
            },
        },
        separators=(",", ":"),
    ).encode()
