"""Mapping benchmark: what an account's mapping spec adds to translating one order.

Run from the project root::

    .venv/bin/python bench/mapping.py [--orders N] [--rounds R]

Method
------
1. The payload is the Shopify 2024-04 docs order, unwrapped as an ``orders/create`` webhook
   carries it, parsed once with :func:`hub.values.loads` (parsing is not measured).
2. The spec has 10,000 SKU lookup entries (9,997 made up, plus the order's three real SKUs:
   two 1:1 and ``IPOD2008RED`` as a kit of two components) and 20 field expressions: 17
   plain paths and 3 with filters, pipes or functions, as an admin would write them. It is
   validated and compiled once (that time is printed, not part of the per-order figures).
3. ``bare`` is ``translate_order`` alone; ``mapped`` is ``translate_order`` then
   ``apply_mapping`` with the client's catalogue (every warehouse SKU of the spec).
4. After a warm-up, ``--rounds`` rounds of ``--orders`` orders each run in alternating order
   (bare, mapped, mapped, bare, ...), so drift in the machine's load weighs on both; the
   median round of each is reported (best round beside it), and the ratio of the medians.

Exit status 0 whether the target is met or not (it is reported, not enforced); 1 only when
the mapping does not do the work being timed (a setup check before the timing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from connectors.channels.shopify.translate import translate_order
from hub.canonical import OrderUpdate
from hub.mapping.compiled import apply_mapping, compile_spec
from hub.values import loads

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT / "connectors/channels/shopify/tests/payloads/order_get_rest_2024-04_response.json"
TARGET_RATIO = 2.0
SKU_ENTRIES = 10_000

FIELDS = {
    "number": "name",
    "notes": "note_attributes[?name=='custom engraving'].value | [0]",
    "tags": "join(', ', note_attributes[].value)",
    "customer.email": "contact_email",
    "customer.name": "customer.default_address.name",
    "customer.phone": "customer.default_address.phone",
    "shipping_address.name": "shipping_address.name",
    "shipping_address.company": "shipping_address.company",
    "shipping_address.line1": "shipping_address.address1",
    "shipping_address.line2": "shipping_address.address2",
    "shipping_address.city": "shipping_address.city",
    "shipping_address.region": "shipping_address.province",
    "shipping_address.postal_code": "shipping_address.zip",
    "shipping_address.country_code": "shipping_address.country_code",
    "shipping_address.phone": "shipping_address.phone",
    "billing_address.name": "billing_address.name",
    "billing_address.city": "billing_address.city",
    "billing_address.postal_code": "billing_address.zip",
    "shipping.method": "shipping_lines[0].code",
    "shipping.carrier_service": "shipping_lines[?source=='shopify'].carrier_identifier | [0]",
}
REAL_SKUS = [
    {"from": "IPOD2008GREEN", "to": "IPOD-GREEN"},
    {
        "from": "IPOD2008RED",
        "to": [{"sku": "IPOD-RED", "quantity": 1}, {"sku": "CASE", "quantity": 2}],
    },
    {"from": "IPOD2008BLACK", "to": "IPOD-BLACK"},
]


def build_spec() -> dict[str, Any]:
    made_up = [
        {"from": f"CH-{i:05d}", "to": f"WH-{i:05d}"} for i in range(SKU_ENTRIES - len(REAL_SKUS))
    ]
    return {"version": 1, "fields": FIELDS, "lookups": {"sku": made_up + REAL_SKUS}}


def catalogue_of(spec: dict[str, Any]) -> set[str]:
    skus: set[str] = set()
    for entry in spec["lookups"]["sku"]:
        target = entry["to"]
        skus.update([target] if isinstance(target, str) else [c["sku"] for c in target])
    return skus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000, help="orders per round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per target")
    args = parser.parse_args(argv)

    payload = loads(PAYLOAD.read_bytes())["order"]
    spec = build_spec()
    catalogue = catalogue_of(spec)
    started = time.perf_counter()
    mapping = compile_spec(spec, known_skus=catalogue)
    compile_ms = (time.perf_counter() - started) * 1000

    def bare() -> None:
        translate_order(payload, topic="orders/create")

    def mapped() -> None:
        update = translate_order(payload, topic="orders/create")
        apply_mapping(mapping, update, payload, line_path="line_items", catalogue=catalogue)

    # The mapped path must really do the work it is timed for.
    result = apply_mapping(
        mapping,
        translate_order(payload, topic="orders/create"),
        payload,
        line_path="line_items",
        catalogue=catalogue,
    )
    if not isinstance(result, OrderUpdate):
        raise SystemExit(f"bench setup: the mapping ignored the order ({result})")
    skus = [line.sku for line in result.order.lines]
    if skus != ["IPOD-GREEN", "IPOD-RED", "CASE", "IPOD-BLACK"] or result.problems:
        raise SystemExit(f"bench setup: unexpected mapping result {skus} {result.problems}")

    def run(target: Any, count: int) -> float:
        begin = time.perf_counter()
        for _ in range(count):
            target()
        return time.perf_counter() - begin

    run(bare, max(args.orders // 10, 100))
    run(mapped, max(args.orders // 10, 100))
    times: dict[str, list[float]] = {"bare": [], "mapped": []}
    for i in range(args.rounds):
        order = ("bare", "mapped") if i % 2 == 0 else ("mapped", "bare")
        for name in order:
            times[name].append(run(bare if name == "bare" else mapped, args.orders))

    print(f"payload: {PAYLOAD.name} (unwrapped, {len(payload['line_items'])} lines)")
    print(
        f"spec: {SKU_ENTRIES} SKU entries, {len(FIELDS)} field expressions; "
        f"validate + compile {compile_ms:.0f} ms"
    )
    print(f"{args.rounds} rounds x {args.orders} orders per target (median round; best)")
    medians = {}
    for name, rounds in times.items():
        medians[name] = statistics.median(rounds)
        best = min(rounds)
        print(
            f"{name:7} {args.orders / medians[name]:>9,.0f} orders/s  "
            f"{medians[name] / args.orders * 1e6:6.1f} us/order  "
            f"(best {args.orders / best:,.0f} orders/s)"
        )
    ratio = medians["mapped"] / medians["bare"]
    extra = (medians["mapped"] - medians["bare"]) / args.orders * 1e6
    print(f"ratio mapped/bare time: {ratio:.2f} (mapping adds {extra:.1f} us/order)")
    print(f"target: mapping costs at most {TARGET_RATIO:g}x bare translation")
    print("target met" if ratio <= TARGET_RATIO else "target NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
