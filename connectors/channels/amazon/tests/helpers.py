"""Shared pieces of the Amazon connector tests: accounts, a fake clock, recorded payloads,
the LWA token answer, a botocore-stubbed SQS client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import responses
from botocore.stub import Stubber

from connectors.channels.amazon.client import RATES, AmazonClient
from connectors.channels.amazon.settings import AmazonSettings
from hub.connectors import Account
from hub.connectors.ratelimit import RateLimiter

HERE = Path(__file__).parent
API = "https://sellingpartnerapi-eu.amazon.com"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api-orders"
MARKETPLACE = "A1F83G8C2ARO7P"
SELLER = "A3TH9S8BH6GOGM"


class Clock:
    """Monotonic time that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def raw(name: str) -> bytes:
    return (HERE / "payloads" / name).read_bytes()


def payload(name: str) -> Any:
    return json.loads(raw(name))


def account(**keys: Any) -> Account:
    settings = AmazonSettings().load(
        {
            "connector": "amazon",
            "region": "eu",
            "marketplace_ids": [MARKETPLACE],
            "client_id": "amzn1.application-oa2-client.test",
            "client_secret": "amzn1.oa2-cs.v1.secret",
            "refresh_token": "Atzr|refresh-test",
            "seller_id": SELLER,
            **keys,
        }
    )
    return Account(name="amazon-uk", connector="amazon", client="acme", settings=settings)


def client(
    acct: Account | None = None, *, clock: Clock | None = None, sqs: Any = None
) -> AmazonClient:
    clock = clock or Clock()
    limiters = {
        op: RateLimiter(rate, burst, clock=clock, sleep=clock.sleep)
        for op, (rate, burst) in RATES.items()
    }
    return AmazonClient(
        acct or account(), limiters=limiters, sleep=clock.sleep, clock=clock, sqs=sqs
    )


def token_answer(
    rsps: responses.RequestsMock, token: str = "Atza|access-1", expires: int = 3600
) -> None:
    """Login with Amazon's answer to the refresh-token grant."""
    rsps.add(
        responses.POST,
        TOKEN_URL,
        json={
            "access_token": token,
            "refresh_token": "Atzr|refresh-test",
            "token_type": "bearer",
            "expires_in": expires,
        },
    )


def stubbed_sqs() -> tuple[Any, Stubber]:
    sqs = boto3.client(
        "sqs",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return sqs, Stubber(sqs)


def sqs_message(
    notification: dict[str, Any], receipt: str, message_id: str = "m-1"
) -> dict[str, Any]:
    return {"MessageId": message_id, "ReceiptHandle": receipt, "Body": json.dumps(notification)}
