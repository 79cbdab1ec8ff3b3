"""Amazon account keys: what is required, what is refused, which keys are secret."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from connectors.channels.amazon.client import api_base
from connectors.channels.amazon.settings import AmazonSettings

KEYS = {
    "connector": "amazon",
    "region": "na",
    "marketplace_ids": ["ATVPDKIKX0DER"],
    "client_id": "amzn1.application-oa2-client.x",
    "client_secret": "secret",
    "refresh_token": "Atzr|x",
    "seller_id": "A3TH9S8BH6GOGM",
}


def test_the_issue_keys_load_with_regional_defaults() -> None:
    loaded = AmazonSettings().load(KEYS)
    assert api_base(loaded) == "https://sellingpartnerapi-na.amazon.com"
    assert loaded["sqs_queue_url"] is None and loaded["restricted_data"] is False


@pytest.mark.parametrize("region", ["na", "eu", "fe"])
def test_each_region_has_its_sp_api_endpoint(region: str) -> None:
    # https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints
    loaded = AmazonSettings().load({**KEYS, "region": region})
    assert api_base(loaded) == f"https://sellingpartnerapi-{region}.amazon.com"
    assert api_base({**loaded, "api_base": "http://127.0.0.1:9/sp/"}) == "http://127.0.0.1:9/sp"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"region": "us"}, "region"),
        ({"marketplace_ids": []}, "marketplace_ids"),
        ({"refresh_token": ""}, "refresh_token"),
        ({"seller_id": None, "stock_sync": True}, "seller_id"),
        ({"sqs_queue_url": "not a url"}, "sqs_queue_url"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_keys_are_named(change: dict, key: str) -> None:
    keys = {k: v for k, v in {**KEYS, **change}.items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        AmazonSettings().load(keys)
    assert key in caught.value.messages


def test_no_seller_is_fine_without_stock_sync() -> None:
    keys = {k: v for k, v in KEYS.items() if k != "seller_id"}
    assert AmazonSettings().load({**keys, "stock_sync": False})["seller_id"] is None


def test_secrets_are_flagged() -> None:
    secret = {n for n, f in AmazonSettings().fields.items() if f.metadata.get("secret")}
    assert secret == {"client_secret", "refresh_token"}
