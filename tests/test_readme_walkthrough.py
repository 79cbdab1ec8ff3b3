"""The README's walk-through, step by step, with the files it names: the example accounts,
the stock count and the order in examples/ go from webhook to a tracking page."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hub import cli
from hub.connectors.signing import hmac_sha256_base64

ROOT = Path(__file__).parents[1]


@pytest.fixture
def accounts_file() -> Path:
    return ROOT / "config/hub.toml"


def test_the_example_order_goes_from_webhook_to_tracking_page(
    hub, client, worker, editor, monkeypatch
):
    readme = (ROOT / "README.md").read_text()
    for named in ("examples/stock.csv", "examples/shopify-order.json", "TT123456785GB"):
        assert named in readme
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", str(ROOT / "config/hub.toml"))
    imported = CliRunner().invoke(
        cli.cli, ["stock", "import", str(ROOT / "examples/stock.csv"), "--client", "example"]
    )
    assert imported.exit_code == 0, imported.output

    body = (ROOT / "examples/shopify-order.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Webhook-Id": "manual-1",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64("example-shopify-secret", body),
    }
    answer = client.post("/webhooks/example-shopify", data=body, headers=headers)
    assert answer.status_code == 202, answer.get_json()
    worker.drain()
    [order] = client.get("/api/orders", headers=editor).get_json()["items"]
    assert order["status"] == "released", order

    shipment = {
        "order_id": order["id"],
        "parcels": [
            {
                "carrier": "royalmail",
                "tracking_number": "TT123456785GB",
                "lines": [{"sku": "IPOD2008RED", "quantity": 1}],
            }
        ],
    }
    shipped = client.post("/api/shipments", json=shipment, headers=editor)
    assert shipped.status_code == 201, shipped.get_json()
    assert shipped.get_json()["order_status"] == "shipped"
    page = client.get("/api/orders/{}".format(order["id"]), headers=editor).get_json()
    tracking = page["tracking_page"].split("://", 1)[1].split("/", 1)[1]
    shown = client.get("/" + tracking)
    assert shown.status_code == 200 and b"TT123456785GB" in shown.data

    again = client.post("/webhooks/example-shopify", data=body, headers=headers)
    assert again.status_code == 202 and again.get_json()["duplicate"] is True
