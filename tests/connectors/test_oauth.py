"""Client-credentials tokens: fetched once, reused until shortly before expiry, dropped when
refused; bad credentials are an AuthError that never quotes the secret."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import responses

from hub.connectors.http import HttpClient
from hub.connectors.oauth import EARLY, TokenCache
from hub.errors import AuthError

TOKEN_URL = "https://carrier.example/security/v1/oauth/token"
SECRET = "very-secret-client-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cache(clock: Clock, basic: bool = True) -> TokenCache:
    http = HttpClient("https://carrier.example", limiter=None, sleep=lambda s: None)
    return TokenCache(
        http, "/security/v1/oauth/token", "client-id", SECRET, basic=basic, clock=clock
    )


@responses.activate
def test_a_token_is_fetched_once_and_renewed_before_it_expires():
    tokens = iter(["tok-1", "tok-2"])
    responses.add_callback(
        responses.POST,
        TOKEN_URL,
        callback=lambda r: (200, {}, f'{{"access_token": "{next(tokens)}", "expires_in": 3600}}'),
    )
    clock = Clock()
    c = cache(clock)
    assert c.token() == "tok-1" and c.token() == "tok-1"
    clock.now += 3600 - EARLY - 1
    assert c.token() == "tok-1"
    clock.now += 2
    assert c.token() == "tok-2" and c.fetched == 2
    request = responses.calls[0].request
    assert request.headers["Authorization"].startswith("Basic ")
    assert parse_qs(request.body) == {"grant_type": ["client_credentials"]}


@responses.activate
def test_form_credentials_and_a_refused_token_is_dropped():
    responses.add(responses.POST, TOKEN_URL, json={"access_token": "tok", "expires_in": "3599"})
    c = cache(Clock(), basic=False)
    assert c.token() == "tok"
    body = parse_qs(responses.calls[0].request.body)
    assert body["client_id"] == ["client-id"] and body["client_secret"] == [SECRET]
    assert "Authorization" not in responses.calls[0].request.headers
    c.invalidate("another-token")  # renewed meanwhile by another thread: kept
    assert c.token() == "tok" and c.fetched == 1
    c.invalidate("tok")
    assert c.token() == "tok" and c.fetched == 2


@responses.activate
def test_bad_credentials_are_an_auth_error_without_the_secret():
    responses.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_client", "echo": SECRET},
    )
    with pytest.raises(AuthError) as caught:
        cache(Clock(), basic=False).token()
    assert "invalid_client" in caught.value.message
    assert SECRET not in caught.value.message and SECRET not in str(caught.value.details)
