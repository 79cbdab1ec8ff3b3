"""The store's webhooks (``/v3/hooks``), the pure half: which of the hub's hooks are there,
active, and what to send to make them so. No I/O.

BigCommerce retries a failed delivery for about 48 hours (11 retries, 60 s to 86,400 s) and
then deactivates the hook (``is_active: false``) and e-mails the app's owner; it stays off
until set active again (``PUT /v3/hooks/{id}``). Deliveries lost meanwhile are found by the
reconciliation; the hook itself must be turned back on, which :func:`plan` does. A hook is
the hub's when its ``destination`` is the account's webhook address.

— ``docs/integrations/webhooks/https-webhook-overview.mdx`` (retry table, deactivation) and
``reference/webhooks.v3.yml`` (``webhook_Base``: ``scope``, ``destination``, ``is_active``,
``headers``) in ``bigcommerce/docs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.channels.bigcommerce.translate import ORDER_TOPICS

HOOKS_PATH = "v3/hooks"
#: a header every hook the hub makes is sent with, naming the hook's scope
SCOPE_HEADER = "X-Hub-Scope"


@dataclass(frozen=True)
class HookChange:
    """One call that brings a hook to what the hub needs."""

    method: str  # "POST" (create) or "PUT" (update)
    path: str
    body: dict[str, Any]
    scope: str
    why: str


def ours(hooks: list[dict[str, Any]], destination: str) -> dict[str, dict[str, Any]]:
    """The hub's hooks by scope (an active one preferred when a scope has several)."""
    found: dict[str, dict[str, Any]] = {}
    for hook in hooks:
        if not isinstance(hook, dict) or hook.get("destination") != destination:
            continue
        scope = str(hook.get("scope"))
        if scope not in found or (hook.get("is_active") and not found[scope].get("is_active")):
            found[scope] = hook
    return found


def status(hooks: list[dict[str, Any]], destination: str) -> dict[str, Any]:
    """``{"ok", "inactive": [scope...], "missing": [scope...]}`` for the hub's scopes."""
    mine = ours(hooks, destination)
    inactive = sorted(s for s in ORDER_TOPICS if s in mine and not mine[s].get("is_active"))
    missing = sorted(s for s in ORDER_TOPICS if s not in mine)
    return {"ok": not inactive and not missing, "inactive": inactive, "missing": missing}


def plan(
    hooks: list[dict[str, Any]], destination: str, headers: dict[str, str] | None
) -> list[HookChange]:
    """The calls that make every scope's hook exist and be active, each with the headers it
    is sent with: :data:`SCOPE_HEADER` naming its scope, and ``headers`` (the account's custom
    secret header, when it has one)."""
    mine = ours(hooks, destination)
    changes = []
    for scope in ORDER_TOPICS:
        wanted = {SCOPE_HEADER: scope, **(headers or {})}
        hook = mine.get(scope)
        if hook is None:
            body = {
                "scope": scope,
                "destination": destination,
                "is_active": True,
                "headers": wanted,
            }
            changes.append(HookChange("POST", HOOKS_PATH, body, scope, "missing"))
            continue
        update: dict[str, Any] = {}
        if not hook.get("is_active"):
            update["is_active"] = True
        if (hook.get("headers") or {}) != wanted:
            update["headers"] = wanted
        if update:
            why = "inactive" if "is_active" in update else "headers"
            changes.append(HookChange("PUT", f"{HOOKS_PATH}/{hook['id']}", update, scope, why))
    return changes
