"""The ``api`` fixture of the WooCommerce client tests: ``responses`` serving answers in the order
they were added (a module may define its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from responses.registries import OrderedRegistry


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(registry=OrderedRegistry) as mock:
        yield mock
