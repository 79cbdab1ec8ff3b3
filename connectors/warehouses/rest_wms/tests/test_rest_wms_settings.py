"""rest_wms account keys: validated at start-up, every key documented, secrets flagged."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from connectors.warehouses.rest_wms import RestWmsConnector
from connectors.warehouses.rest_wms import settings as settings_module
from hub.connectors import AccountSchema, Capability, registry
from hub.connectors.accounts import parse_accounts
from hub.errors import ConfigError

BASE = {"connector": "rest_wms", "api_base": "https://wms.example/api", "api_key": "k"}


def load(**keys: Any) -> dict[str, Any]:
    data = {**BASE, **keys}
    text = "[accounts.w]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in data.items() if v != ...)
    return dict(parse_accounts(text, "hub.toml", env={})["w"].settings)


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_the_connector_is_registered_as_a_warehouse_that_releases_and_reports():
    cls = registry()["rest_wms"]
    assert cls is RestWmsConnector
    assert (cls.name, cls.kind) == ("rest_wms", "warehouse")
    assert cls.capabilities == {Capability.RELEASE, Capability.WAREHOUSE_FEED, Capability.RETURNS}


def test_the_smallest_account_is_an_address_and_a_key():
    s = load()
    assert s["api_base"] == "https://wms.example/api"
    assert s["orders_endpoint"] == "/orders" and s["rate_limit"] == 5.0


def test_every_key_is_documented_and_secrets_are_flagged():
    declared = RestWmsConnector.settings_schema().fields
    doc = inspect.getdoc(settings_module) or ""
    documented = set(re.findall(r"^``(\w+)``", doc, flags=re.MULTILINE))
    own = set(declared) - set(AccountSchema().fields)
    assert own <= documented, f"not documented: {sorted(own - documented)}"
    assert documented <= set(declared), f"documented, unknown: {sorted(documented - set(declared))}"
    assert {k for k, f in declared.items() if f.metadata.get("secret")} == {"api_key", "password"}


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"api_base": ...}, "key api_base: Missing data"),
        ({"api_base": "ftp://wms.example"}, "key api_base"),
        ({"api_key": ...}, "key api_key: required (or username and password)"),
        ({"api_key": ..., "username": "u"}, "key password: required with username"),
        ({"api_key": ..., "password": "p"}, "key username: required with password"),
        ({"username": "u", "password": "p"}, "key api_key: give api_key or username"),
        ({"api_key": ""}, "key api_key"),
        ({"api_key_header": "X Api Key"}, "key api_key_header: an HTTP header name"),
        ({"rate_limit": 0}, "key rate_limit"),
        ({"cancel_endpoint": "/orders/cancel"}, "key cancel_endpoint: placeholders"),
        ({"cancel_endpoint": "/orders/{id}/cancel"}, "key cancel_endpoint: placeholders"),
        ({"lookup_endpoint": "/orders/{order_id"}, "key lookup_endpoint: not a valid template"),
        ({"orders_endpoint": "/orders/{x}"}, "key orders_endpoint: placeholders: none"),
        ({"cancel_method": "GET"}, "key cancel_method"),
        ({"order_template": "{ref: "}, "key order_template: not a JMESPath expression"),
        ({"sku_field": "a..b"}, "key sku_field: a dotted path"),
        ({"sku_field": ""}, "key sku_field: a dotted path"),
        ({"page_param": "page no"}, "key page_param: a query parameter name"),
        ({"carrier_map": {"RM": "royal_mail"}}, "key carrier_map"),
        ({"since_value": "time"}, "key since_value"),
        ({"since_value": "cursor", "page_param": "page"}, "key since_value: cursor needs"),
        ({"api_secret": "typo"}, "key api_secret: Unknown field"),
    ],
)
def test_a_bad_account_names_the_key(keys, problem):
    with pytest.raises(ConfigError) as info:
        load(**keys)
    assert problem in info.value.message
    assert "account 'w'" in info.value.message


def test_basic_credentials_and_the_other_keys_load():
    s = load(
        api_key=...,
        username="hub",
        password="pw",
        items_path="",
        location_field="bin.code",
        carrier_map={"RM": "royalmail"},
        order_template="{ref: to_string(id)}",
        cancel_endpoint="/orders/{reference}",
        cancel_method="DELETE",
        page_param="page",
    )
    assert s["username"] == "hub" and s["items_path"] == ""
    assert s["carrier_map"] == {"RM": "royalmail"}


@pytest.mark.parametrize(
    ("toml", "want"),
    [
        ("2030-01-01T10:00:00+01:00", "2030-01-01T09:00:00Z"),
        ('"2030-01-01T10:00:00Z"', "2030-01-01T10:00:00Z"),
        ("1700", 1700),
        ('"cursor-abc"', "cursor-abc"),
    ],
)
def test_the_first_poll_position_takes_a_toml_time_a_number_or_text(toml, want):
    text = "\n".join(
        ["[accounts.w]", *(f"{k} = {_toml(v)}" for k, v in BASE.items()), f"since_start = {toml}"]
    )
    assert parse_accounts(text, "hub.toml", env={})["w"].settings["since_start"] == want


@pytest.mark.parametrize("toml", ["2030-01-01T10:00:00", '""', "true"])
def test_a_first_poll_position_that_is_none_of_those_is_refused(toml):
    text = "\n".join(
        ["[accounts.w]", *(f"{k} = {_toml(v)}" for k, v in BASE.items()), f"since_start = {toml}"]
    )
    with pytest.raises(ConfigError, match="key since_start"):
        parse_accounts(text, "hub.toml", env={})


def test_the_example_account_in_the_docstring_loads():
    doc = inspect.getdoc(settings_module) or ""
    example = "\n".join(line.strip() for line in doc.split("::", 1)[1].splitlines() if line.strip())
    s = parse_accounts(example, "doc", env={"ACME_WMS_KEY": "k"})["acme-wms"].settings
    assert (s["api_key_header"], s["page_param"], s["cancel_method"]) == (
        "X-Api-Key",
        "page",
        "DELETE",
    )
