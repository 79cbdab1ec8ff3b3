"""``/admin/mappings``: each channel account's mapping spec, its versions, a diff between any
two, editing (validated first: a syntax error names its line), and roll-back. Saving and
rolling back go through :mod:`hub.mapping.store`, as the API's do, and are audited there."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import yaml
from flask import Response, abort, flash, redirect, render_template, request, url_for

from hub.connectors import Account, Capability, connector_class
from hub.errors import MappingError
from hub.intake import translation
from hub.mapping import compiled, store
from hub.mapping import preview as mapping_preview
from hub.storage import audit
from hub.web.admin import bp, current_hub, person, requires

#: the connectors whose orders a mapping shapes
_ORDERS = frozenset({Capability.ORDERS_WEBHOOK, Capability.ORDERS_POLL})
#: how large a spec the form takes (the API's limit for a body is larger than any real spec)
MAX_SPEC = 256 * 1024


class _Dumper(yaml.SafeDumper):
    """Specs as YAML for the editor; exact decimals stay numbers."""


_Dumper.add_representer(
    Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value))
)


def as_yaml(spec: dict[str, Any]) -> str:
    return yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def _accounts() -> list[Account]:
    """The channel accounts the signed-in person may see."""
    return [
        account
        for account in sorted(current_hub().accounts.values(), key=lambda a: a.name)
        if _ORDERS & connector_class(account.connector).capabilities
        and person().sees(account.client)
    ]


def _account(name: str) -> Account:
    found = {a.name: a for a in _accounts()}.get(name)
    if found is None:
        abort(404)
    return found


@bp.get("/mappings")
def mappings() -> str:
    rows = []
    with current_hub().db.transaction() as session:
        for account in _accounts():
            rows.append((account, store.current(session, account)))
    return render_template("admin/mappings.html", rows=rows)


def _page(account: Account, text: str | None = None, messages=(), status: int = 200, **extra):
    with current_hub().db.transaction() as session:
        current = store.current(session, account)
        versions = store.history(session, account)
        deliveries = [
            (d.id, d.topic, d.received_at, d.status)
            for d in mapping_preview.recent_deliveries(session, account)
        ]
    body = render_template(
        "admin/mapping.html",
        account=account,
        current=current,
        versions=versions,
        text=as_yaml(current.spec) if text is None else text,
        messages=list(messages),
        deliveries=deliveries,
        **extra,
    )
    return body, status


@bp.get("/mappings/<name>")
def mapping(name: str) -> tuple[str, int]:
    account = _account(name)
    diff = None
    if request.args.get("from") or request.args.get("to"):
        diff = _diff(account, request.args.get("from"), request.args.get("to"))
    return _page(account, diff=diff)


def _diff(account: Account, first: str | None, second: str | None) -> dict[str, Any]:
    def version(number: str | None) -> store.Version:
        if not number:
            return store.current(session, account)
        found = store.get(session, account, int(number)) if number.isdecimal() else None
        if found is None:
            abort(404)
        return found

    with current_hub().db.transaction() as session:
        a, b = version(first), version(second)
    return {"from": a.number, "to": b.number, **store.diff(a.spec, b.spec)}


@bp.post("/mappings/<name>")
@requires("editor")
def mapping_save(name: str) -> Response | tuple[str, int]:
    account = _account(name)
    text = request.form.get("spec", "")
    comment = (request.form.get("comment") or "").strip()[:500] or None
    if len(text.encode()) > MAX_SPEC:
        return _page(account, text, [f"the spec is over {MAX_SPEC // 1024} KiB"], 413)
    try:
        spec = compiled.parse_spec(text, "yaml")
    except MappingError as exc:
        return _page(account, text, [exc.message], 422)
    if request.form.get("action") == "preview":
        return _preview(account, spec, text)
    if request.form.get("action") == "validate":
        with current_hub().db.transaction() as session:
            messages = store.check(session, account, spec)
        return _page(account, text, messages, 422 if messages else 200, validated=not messages)
    try:
        with current_hub().db.transaction() as session:
            saved = store.save(session, account, spec, author=person().email, comment=comment)
    except MappingError as exc:
        return _page(account, text, list(exc.details or [exc.message]), 422)
    flash(f"Saved as version {saved.number}.")
    return redirect(url_for("admin.mapping", name=name))


@bp.post("/mappings/<name>/rollback")
@requires("editor")
def mapping_rollback(name: str) -> Response | tuple[str, int]:
    account = _account(name)
    number = request.form.get("version", "")
    if not number.isdecimal():
        return _page(account, messages=["choose a version to roll back to"], status=400)
    try:
        with current_hub().db.transaction() as session:
            new = store.rollback(session, account, int(number), author=person().email, comment=None)
    except LookupError as exc:
        return _page(account, messages=[str(exc)], status=404)
    except MappingError as exc:
        return _page(account, messages=list(exc.details or [exc.message]), status=422)
    flash(f"Rolled back: version {new.number} is version {number} again.")
    return redirect(url_for("admin.mapping", name=name))


def _preview(account: Account, spec: Any, text: str | None) -> tuple[str, int]:
    """The draft (or current) spec run on the chosen stored delivery, shown on the page."""
    chosen = request.form.get("delivery_id", "")
    if not chosen.isdecimal():
        return _page(account, text, ["choose a stored delivery to preview with"], 400)
    hub = current_hub()
    try:
        with hub.db.transaction() as session:
            payload, topic = mapping_preview.stored_payload(session, account, int(chosen))
            result = mapping_preview.preview(
                hub, session, account, payload, spec=spec, topic=topic, stored=True
            )
    except LookupError as exc:
        return _page(account, text, [str(exc)], 404)
    except ValueError as exc:
        return _page(account, text, [str(exc)], 422)
    shown = {
        "delivery_id": int(chosen),
        "result": json.dumps(result.get("result"), indent=2, ensure_ascii=False, default=str),
        "why": result.get("error") or result.get("ignored"),
        "problems": result.get("problems") or [],
        "changes": result.get("changes") or [],
    }
    return _page(account, text, result["messages"], 200, preview=shown)


@bp.post("/mappings/<name>/preview")
def mapping_preview_current(name: str) -> tuple[str, int]:
    """A viewer's preview: the current spec on a stored delivery."""
    return _preview(_account(name), None, None)


@bp.post("/mappings/<name>/retranslate")
@requires("editor")
def mapping_retranslate(name: str) -> Response:
    account = _account(name)
    hub = current_hub()
    with hub.db.transaction() as session:
        queued = translation.retranslate(hub, session, account.name)
        audit.record(
            session, person().email, "orders.retranslate", f"mapping:{name}", {"queued": queued}
        )
    flash(f"{len(queued)} orders needing attention queued to be translated again.")
    return redirect(url_for("admin.mapping", name=name))
