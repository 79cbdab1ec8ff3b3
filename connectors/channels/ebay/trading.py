"""The Trading API's ``ReviseInventoryStatus``, for listings made outside the Inventory API
(``stock_api = "trading"``): the pure half.

``POST https://api.ebay.com/ws/api.dll`` with headers ``X-EBAY-API-CALL-NAME:
ReviseInventoryStatus``, ``X-EBAY-API-SITEID``, ``X-EBAY-API-COMPATIBILITY-LEVEL`` and the
OAuth user token in ``X-EBAY-API-IAF-TOKEN``; the body holds up to four ``InventoryStatus``
(``ItemID`` and/or ``SKU``, ``Quantity``). The answer's ``Ack`` is ``Success``, ``Warning``
or ``Failure``, with ``Errors{ErrorCode, ShortMessage, LongMessage, SeverityCode}`` and
the ``InventoryStatus`` applied. — https://developer.ebay.com/devzone/xml/docs/reference/ebay/ReviseInventoryStatus.html

Here an item is addressed by its SKU (the listing must track inventory by SKU), or by
``ItemID`` where the account's item map holds one (``item_id`` other than the SKU).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from hub.connectors import StockOutcome, StockUpdate
from hub.errors import AuthError, RetryableError
from hub.values import xml_root

NS = "urn:ebay:apis:eBLBaseComponents"
COMPATIBILITY_LEVEL = "1423"
BATCH = 4  # InventoryStatus per call
#: Trading errors meaning the token was refused (931 auth token invalid, 932 hard expired)
#: or eBay had a fault (10007 internal error, 518 call usage limit reached)
AUTH_CODES = frozenset({"931", "932"})
RETRY_CODES = frozenset({"10007", "518"})


def request_xml(updates: list[StockUpdate]) -> bytes:
    if len(updates) > BATCH:
        raise ValueError(f"at most {BATCH} items a call, got {len(updates)}")
    parts = []
    for update in updates:
        item = update.item
        ident = f"<SKU>{escape(item.sku)}</SKU>"
        if item.item_id and item.item_id != item.sku:
            ident = f"<ItemID>{escape(item.item_id)}</ItemID>" + ident
        parts.append(
            f"<InventoryStatus>{ident}<Quantity>{update.quantity}</Quantity></InventoryStatus>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<ReviseInventoryStatusRequest xmlns="{NS}">{"".join(parts)}'
        "</ReviseInventoryStatusRequest>"
    ).encode()


def outcomes(updates: list[StockUpdate], answer: bytes) -> list[StockOutcome]:
    root = xml_root(answer, sender="eBay Trading API")
    ns = {"e": NS}
    ack = (root.findtext("e:Ack", default="", namespaces=ns) or "").strip()
    errors = [
        (
            (e.findtext("e:ErrorCode", default="", namespaces=ns) or "").strip(),
            (
                e.findtext("e:LongMessage", default="", namespaces=ns)
                or e.findtext("e:ShortMessage", default="", namespaces=ns)
                or ""
            ).strip(),
            (e.findtext("e:SeverityCode", default="", namespaces=ns) or "").strip(),
        )
        for e in root.findall("e:Errors", ns)
    ]
    failures = [e for e in errors if e[2] != "Warning"]
    said = "; ".join(f"ErrorCode {code}: {text}" for code, text, _ in failures)
    if any(code in AUTH_CODES for code, _, _ in failures):
        raise AuthError(f"ReviseInventoryStatus: {said}")
    if ack == "Failure" and failures and all(code in RETRY_CODES for code, _, _ in failures):
        raise RetryableError(f"ReviseInventoryStatus: {said}")
    done = {
        (s.findtext("e:SKU", default="", namespaces=ns) or "").strip()
        for s in root.findall("e:InventoryStatus", ns)
    }
    out = []
    for update in updates:
        if ack in ("Success", "Warning") or update.item.sku in done:
            out.append(StockOutcome(update.item.sku, ok=True, quantity=update.quantity))
        else:
            out.append(StockOutcome(update.item.sku, ok=False, error=said or f"Ack {ack}"))
    return out
