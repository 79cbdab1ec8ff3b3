"""What the browser tests of the web pages share: a real ``hub web`` and a watch on what a
page's browser reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.processes import HUB, hub_env, serving


@pytest.fixture
def server(hub, tmp_path: Path) -> Iterator[str]:
    """``hub web`` (gunicorn) on the test's database; its base address."""
    port = free_port()
    env = hub_env(hub.settings, HUB_LOG_LEVEL="WARNING")
    command = [HUB, "web", "--port", str(port), "--workers", "1"]
    with serving(command, env, tmp_path / "web.log", port, cwd=ROOT):
        yield f"http://127.0.0.1:{port}"


def watch(page, own_status: str = "the server responded with a status of") -> list[str]:
    """Console errors (a CSP violation is one) other than the page's own status (console
    text starting ``own_status``), refused requests and sub-resources that did not load."""
    problems: list[str] = []

    def console(message) -> None:
        if message.type == "error" and own_status not in message.text:
            problems.append(message.text)

    def response(answer) -> None:
        if answer.request.resource_type != "document" and answer.status >= 400:
            problems.append(f"{answer.url}: {answer.status}")

    def failed(request) -> None:
        # A page left before its stylesheet or icon finished loading cancels those loads
        # (net::ERR_ABORTED); that is the browser moving on, not a resource that is missing.
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"{request.url}: {request.failure}")

    page.on("console", console)
    page.on("response", response)
    page.on("requestfailed", failed)
    return problems
