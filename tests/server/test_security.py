"""Tokens, CORS and the rate limit: the server's own request rules, checked without a server."""

from __future__ import annotations

import json
import stat

import pytest

from server.auth import TokenStore, bearer_token
from server.security import CorsPolicy, RateLimiter


def test_tokens_are_stored_as_sha256_digests(tmp_path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    token = store.create("laptop")
    raw = (tmp_path / "tokens.json").read_text()
    assert token not in raw
    assert TokenStore.digest(token) in json.loads(raw)
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600
    fresh = TokenStore(tmp_path / "tokens.json")
    assert fresh.verify(token)
    assert not fresh.verify(token + "x")
    assert not fresh.verify("")
    second = store.create()
    assert fresh.verify(second) and fresh.verify(token) and len(fresh) == 2


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") == ""
    assert bearer_token(None) == ""


def test_cors_allows_extensions_and_configured_origins_only() -> None:
    policy = CorsPolicy(["https://reader.example.org/"])
    assert policy.allows("chrome-extension://abcdefghijklmnop")
    assert policy.allows("moz-extension://1234-5678")
    assert policy.allows("https://reader.example.org")
    assert not policy.allows("https://evil.example")
    assert not policy.allows("null")
    assert not policy.allows(None)


def test_rate_limiter_bucket() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.acquire("a", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a", now=100.0)
    assert wait == pytest.approx(0.5)
    assert limiter.acquire("b", now=100.0) == 0.0
    assert limiter.acquire("a", now=100.6) == 0.0
    assert RateLimiter(rate=0, burst=1).acquire("a") == 0.0
