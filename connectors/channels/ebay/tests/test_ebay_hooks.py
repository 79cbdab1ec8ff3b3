"""eBay Notification API subscriptions made by the hub: the destination for the account's
endpoint and each topic's subscription to it, checked and made (``hub accounts hooks
check|sync``). eBay's answers are built from its Notification API contract (SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from connectors.channels.ebay import subscriptions
from connectors.channels.ebay.tests.helpers import (
    API,
    ENDPOINT,
    VERIFICATION_TOKEN,
    connector,
    tokens,
)
from connectors.channels.ebay.tests.helpers import payload as recorded
from hub.errors import AuthError, PermanentError
from tests import conftest
from tests.conftest import ACCOUNTS

# the hub's database fixtures, for the CLI test (SQLite and PostgreSQL)
hub, database_url, postgres_url = conftest.hub, conftest.database_url, conftest.postgres_url

BASE = f"{API}/commerce/notification/v1"
TOPICS = ("MARKETPLACE_ACCOUNT_DELETION", "ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED")
N = "notifications"


def _topics(mock: responses.RequestsMock, offered: tuple[str, ...] = TOPICS) -> None:
    for topic in TOPICS:
        if topic in offered:
            mock.get(f"{BASE}/topic/{topic}", json=recorded(f"{N}/topic_{topic}_built.json"))
        else:
            mock.get(
                f"{BASE}/topic/{topic}",
                status=404,
                json=recorded(f"{N}/error_no_topic_195002_built.json"),
            )


def _bearer(call) -> str:  # type: ignore[no-untyped-def]
    return call.request.headers["Authorization"]


def _token_scopes(mock: responses.RequestsMock) -> list[str]:
    from urllib.parse import parse_qs

    return [
        parse_qs(c.request.body)["scope"][0]
        for c in mock.calls
        if c.request.url.endswith("/oauth2/token")
    ]


def _nothing_yet(mock: responses.RequestsMock) -> None:
    """eBay's answers for an app with no destination and no subscription yet."""
    tokens(mock)
    mock.get(f"{BASE}/destination", json=recorded(f"{N}/destinations_none_built.json"))
    _topics(mock)
    mock.get(f"{BASE}/subscription", json=recorded(f"{N}/subscriptions_none_built.json"))


def _created(mock: responses.RequestsMock, what: str, made: str) -> Any:
    """eBay's 201 to a create call of ``what`` (destination, subscription) making ``made``."""
    return mock.post(
        f"{BASE}/{what}", status=201, headers={"Location": f"{BASE}/{what}/{made}"}, json={}
    )


def test_check_reports_every_topic_missing_with_no_destination():
    ebay = connector()
    with responses.RequestsMock() as mock:
        _nothing_yet(mock)
        state = ebay.webhook_subscriptions(ENDPOINT)
        scopes = _token_scopes(mock)
    assert state["ok"] is False and state["destination"] is None
    assert state["missing"] == sorted(TOPICS) and state["inactive"] == []
    assert state["topics"] == {t: "missing" for t in TOPICS}
    # the app's token (client credentials) and the seller's token for user-based topics
    assert subscriptions.USER_SCOPE in scopes and "https://api.ebay.com/oauth/api_scope" in scopes


def test_sync_makes_the_destination_then_a_subscription_per_topic_with_the_right_token():
    ebay = connector()
    with responses.RequestsMock() as mock:
        _nothing_yet(mock)
        made = _created(mock, "destination", "dest-0009")
        subs = _created(mock, "subscription", "sub-0009")
        done = ebay.sync_webhook_subscriptions(ENDPOINT)
    assert done[0] == f"destination {ENDPOINT}: created (dest-0009)"
    assert done[1:] == [f"{t}: created (sub-0009)" for t in TOPICS]
    assert json.loads(made.calls[0].request.body) == {
        "name": "Fulfilment Hub acme-ebay",
        "status": "ENABLED",
        "deliveryConfig": {"endpoint": ENDPOINT, "verificationToken": VERIFICATION_TOKEN},
    }
    bodies = [json.loads(c.request.body) for c in subs.calls]
    assert bodies[0] == {
        "topicId": "MARKETPLACE_ACCOUNT_DELETION",
        "status": "ENABLED",
        "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"},
        "destinationId": "dest-0009",
    }
    assert [b["topicId"] for b in bodies] == list(TOPICS)
    # the APPLICATION topic with the app token, the USER topics with the seller's
    app, user, user_again = (_bearer(c) for c in subs.calls)
    assert app != user and user == user_again


def test_a_disabled_destination_and_subscription_are_enabled_and_a_topic_not_offered_is_told():
    ebay = connector()
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(f"{BASE}/destination", json=recorded(f"{N}/destinations_disabled_built.json"))
        _topics(mock, offered=TOPICS[:2])
        mock.get(
            f"{BASE}/subscription", json=recorded(f"{N}/subscriptions_app_disabled_built.json")
        )
        mock.get(f"{BASE}/subscription", json=recorded(f"{N}/subscriptions_none_built.json"))
        state = ebay.webhook_subscriptions(ENDPOINT)
    assert state["topics"] == {
        "ITEM_MARKED_SHIPPED": "unavailable",
        "MARKETPLACE_ACCOUNT_DELETION": "disabled",
        "ORDER_CONFIRMATION": "missing",
    }
    assert state["destination"] == {"id": "dest-0001", "status": "DISABLED"}
    assert state["unavailable"] == ["ITEM_MARKED_SHIPPED"] and state["ok"] is False

    ebay = connector()  # new tokens
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(f"{BASE}/destination", json=recorded(f"{N}/destinations_disabled_built.json"))
        _topics(mock, offered=TOPICS[:2])
        mock.get(
            f"{BASE}/subscription", json=recorded(f"{N}/subscriptions_app_disabled_built.json")
        )
        mock.get(f"{BASE}/subscription", json=recorded(f"{N}/subscriptions_none_built.json"))
        put = mock.put(f"{BASE}/destination/dest-0001", status=204)
        enable = mock.post(f"{BASE}/subscription/sub-app-0001/enable", status=204)
        create = _created(mock, "subscription", "sub-0010")
        done = ebay.sync_webhook_subscriptions(ENDPOINT)
    assert done == [
        f"destination {ENDPOINT}: updated (disabled)",
        "MARKETPLACE_ACCOUNT_DELETION: enabled (was disabled)",
        "ORDER_CONFIRMATION: created (sub-0010)",
    ]  # ITEM_MARKED_SHIPPED: not offered, so nothing is sent for it
    assert json.loads(put.calls[0].request.body)["status"] == "ENABLED"
    assert enable.call_count == 1
    assert json.loads(create.calls[0].request.body)["destinationId"] == "dest-0001"


def test_a_topic_subscribed_to_another_endpoint_of_the_app_is_reported_and_left_alone(caplog):
    ebay = connector()
    other = recorded(f"{N}/subscriptions_app_disabled_built.json")
    other["subscriptions"][0].update(destinationId="dest-elsewhere", status="ENABLED")
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(f"{BASE}/destination", json=recorded(f"{N}/destinations_none_built.json"))
        _topics(mock)
        mock.get(f"{BASE}/subscription", json=other)
        mock.get(f"{BASE}/subscription", json=recorded(f"{N}/subscriptions_none_built.json"))
        _created(mock, "destination", "dest-0009")
        subs = _created(mock, "subscription", "sub-0009")
        done = ebay.sync_webhook_subscriptions(ENDPOINT)
    assert done[1:] == [f"{t}: created (sub-0009)" for t in TOPICS[1:]]
    assert "subscription sub-app-0001 goes to destination dest-elsewhere" in caplog.text
    assert [json.loads(c.request.body)["topicId"] for c in subs.calls] == list(TOPICS[1:])


def test_a_failed_challenge_is_a_permanent_error_naming_eBays_message():
    ebay = connector()
    with responses.RequestsMock() as mock:
        _nothing_yet(mock)
        mock.post(
            f"{BASE}/destination",
            status=409,
            json=recorded(f"{N}/error_challenge_failed_195020_built.json"),
        )
        with pytest.raises(PermanentError) as raised:
            ebay.sync_webhook_subscriptions(ENDPOINT)
    assert "errorId 195020: Challenge verification failed" in raised.value.message


def test_a_seller_token_without_the_subscription_scope_is_an_auth_error():
    ebay = connector()
    with responses.RequestsMock() as mock:
        _nothing_yet(mock)
        mock.get(f"{BASE}/subscription", status=403, json=recorded("error_invalid_token_1001.json"))
        with pytest.raises(AuthError):
            ebay.webhook_subscriptions(ENDPOINT)


def test_api_calls_false_sends_nothing():
    ebay = connector(api_calls=False)
    with responses.RequestsMock():  # any call would fail: none is registered
        with pytest.raises(PermanentError, match="api_calls = false"):
            ebay.webhook_subscriptions(ENDPOINT)
        with pytest.raises(PermanentError, match="api_calls = false"):
            ebay.sync_webhook_subscriptions(ENDPOINT)


def test_paged_destinations_follow_the_continuation_token():
    ebay = connector()
    first = recorded(f"{N}/destinations_none_built.json")
    first["next"] = f"{BASE}/destination?limit=100&continuation_token=tok-2"
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(
            f"{BASE}/destination",
            json=first,
            match=[responses.matchers.query_param_matcher({"limit": "100"})],
        )
        mock.get(
            f"{BASE}/destination",
            json=recorded(f"{N}/destinations_disabled_built.json"),
            match=[
                responses.matchers.query_param_matcher(
                    {"limit": "100", "continuation_token": "tok-2"}
                )
            ],
        )
        found = ebay.client.destinations()
    assert [d["destinationId"] for d in found] == ["dest-0001"]


# -- the CLI -----------------------------------------------------------------------------------

EBAY_ACCOUNT = f"""
[accounts.acme-ebay]
connector = "ebay"
client = "acme"
marketplace_id = "EBAY_GB"
client_id = "AcmeHub-PRD-0123456789-abcdef01"
client_secret = "PRD-0123456789ab-cdef-0123-4567-89ab"
refresh_token = "v^1.1#i^1#refresh-token-for-tests"
verification_token = "{VERIFICATION_TOKEN}"
endpoint_url = "{ENDPOINT}"
rate_limit = 1000
"""


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(ACCOUNTS + EBAY_ACCOUNT)
    return path


def _enabled(sub_id: str, topic: str) -> dict:
    return {
        "subscriptionId": sub_id,
        "topicId": topic,
        "status": "ENABLED",
        "destinationId": "dest-0009",
        "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"},
    }


def test_hub_accounts_hooks_check_then_sync_then_check_for_ebay(
    hub, accounts_file, database_url, monkeypatch
):
    from click.testing import CliRunner

    from hub import cli
    from hub.intake import reconcile
    from hub.storage import account_state

    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_CONFIG", str(accounts_file))
    # eBay delivers to the account's endpoint_url: HUB_PUBLIC_URL, another address here, is
    # not what the hooks are checked for, and is not needed to make them
    monkeypatch.setenv("HUB_PUBLIC_URL", "https://elsewhere.example")

    def state_line(output: str) -> dict:
        (line,) = [x for x in output.splitlines() if x.startswith("{")]
        return json.loads(line)

    with responses.RequestsMock() as mock:  # nothing on eBay yet
        _nothing_yet(mock)
        before = CliRunner().invoke(cli.cli, ["accounts", "hooks", "check", "acme-ebay"])
    assert before.exit_code == 1, before.output
    assert state_line(before.output)["missing"] == sorted(TOPICS)
    assert state_line(before.output)["url"] == ENDPOINT

    monkeypatch.delenv("HUB_PUBLIC_URL")

    enabled_app = {"subscriptions": [_enabled("sub-1", TOPICS[0])]}
    enabled_user = {
        "subscriptions": [_enabled(f"sub-{n}", t) for n, t in [(2, TOPICS[1]), (3, TOPICS[2])]]
    }
    made = recorded(f"{N}/destinations_disabled_built.json")
    made["destinations"][0].update(destinationId="dest-0009", status="ENABLED")
    with responses.RequestsMock() as mock:
        _nothing_yet(mock)
        mock.get(f"{BASE}/subscription", json=recorded(f"{N}/subscriptions_none_built.json"))
        _created(mock, "destination", "dest-0009")
        for n in (1, 2, 3):
            mock.post(
                f"{BASE}/subscription",
                status=201,
                headers={"Location": f"{BASE}/subscription/sub-{n}"},
                json={},
            )
        # the check after the sync reads what was made
        mock.get(f"{BASE}/destination", json=made)
        mock.get(f"{BASE}/subscription", json=enabled_app)
        mock.get(f"{BASE}/subscription", json=enabled_user)
        result = CliRunner().invoke(cli.cli, ["accounts", "hooks", "sync", "acme-ebay"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"4 change(s); hooks call {ENDPOINT}"
    assert f"destination {ENDPOINT}: created (dest-0009)" in result.output
    with hub.db.transaction() as session:
        state = account_state.load(session, "acme-ebay", reconcile.WEBHOOKS)
    assert state["ok"] is True and state["topics"] == {t: "enabled" for t in TOPICS}
    assert state["url"] == ENDPOINT

    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(f"{BASE}/destination", json=made)
        _topics(mock)
        mock.get(f"{BASE}/subscription", json=enabled_app)
        mock.get(f"{BASE}/subscription", json=enabled_user)
        after = CliRunner().invoke(cli.cli, ["accounts", "hooks", "check", "acme-ebay"])
    assert after.exit_code == 0, after.output
    assert state_line(after.output)["ok"] is True
