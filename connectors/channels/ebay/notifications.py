"""eBay Notification API deliveries: the signature, the endpoint challenge and the envelope.
Pure, but for the public keys, which :class:`PublicKeys` fetches through a callable.

* Every notification is POSTed as JSON ``{"metadata": {"topic", "schemaVersion",
  "deprecated"}, "notification": {"notificationId", "eventDate", "publishDate",
  "publishAttemptCount", "data"}}`` with ``X-EBAY-SIGNATURE``: base64 of a JSON object
  ``{"alg": "ecdsa", "kid": <key id>, "signature": <base64 DER ECDSA signature>,
  "digest": "SHA1"}``. The key comes from ``getPublicKey`` (``GET
  /commerce/notification/v1/public_key/{kid}``, an application token) as ``{"key": "-----BEGIN
  PUBLIC KEY-----...-----END PUBLIC KEY-----", "algorithm": "ECDSA", "digest": "SHA1"}``,
  without line breaks in the PEM. eBay's SDKs verify over ``JSON.stringify`` of the parsed
  message, which is the body as eBay sends it; here the raw body is checked first and that
  compact form second. Keys are cached for an hour. A verified delivery is answered 204, a
  refused one 412. — ``eBay/event-notification-nodejs-sdk`` @ feaf337 (``lib/validator.js``,
  ``lib/client.js``, ``lib/index.js``, ``lib/constants.js``: ``ssl3-sha1``, 204, 412)
* eBay checks the endpoint with ``GET <endpoint>?challenge_code=<code>`` and expects
  ``{"challengeResponse": hex(SHA-256(challenge_code + verification_token + endpoint))}``
  (``generateChallengeResponse`` in the same file; the endpoint exactly as registered).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

SIGNATURE_HEADER = "X-EBAY-SIGNATURE"
DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"
KEY_TTL = 3600.0  # seconds a public key is kept (eBay's guidance: cache for an hour)
_PEM_START, _PEM_END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
_DIGESTS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}


@dataclass(frozen=True)
class Signature:
    """The decoded ``X-EBAY-SIGNATURE`` header."""

    kid: str
    signature: bytes
    alg: str
    digest: str


def read_signature(header: str | None) -> Signature | None:
    """The header's key id and signature; None when it is missing or unreadable."""
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header.strip(), validate=True))
        signature = base64.b64decode(str(data["signature"]), validate=True)
        kid = str(data["kid"])
    except (ValueError, binascii.Error, KeyError, TypeError):
        return None
    if not kid or not signature:
        return None
    return Signature(
        kid=kid,
        signature=signature,
        alg=str(data.get("alg") or "ecdsa").lower(),
        digest=str(data.get("digest") or "SHA1").upper(),
    )


def pem(key: str) -> bytes:
    """eBay's one-line PEM with its line breaks put back (as the SDKs' ``formatKey``)."""
    body = key.replace(_PEM_START, "").replace(_PEM_END, "")
    body = "".join(body.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([_PEM_START, *lines, _PEM_END, ""]).encode()


def compact(body: bytes) -> bytes | None:
    """The body as ``JSON.stringify`` writes the parsed message (no spaces, key order kept)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode()


def verify(body: bytes, signature: Signature, key: Mapping[str, Any]) -> bool:
    """Whether ``signature`` is the key's ECDSA signature of the body (raw, or compacted)."""
    if signature.alg != "ecdsa" or str(key.get("algorithm", "ECDSA")).upper() != "ECDSA":
        return False
    digest = _DIGESTS.get(str(key.get("digest") or signature.digest).upper())
    if digest is None:
        return False
    try:
        public = load_pem_public_key(pem(str(key.get("key") or "")))
    except ValueError:
        return False
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return False
    candidates = [body]
    again = compact(body)
    if again is not None and again != body:
        candidates.append(again)
    for message in candidates:
        try:
            public.verify(signature.signature, message, ec.ECDSA(digest()))
            return True
        except InvalidSignature:
            continue
    return False


def challenge_response(code: str, verification_token: str, endpoint_url: str) -> str:
    """hex SHA-256 of challenge code + verification token + endpoint, as eBay expects."""
    digest = hashlib.sha256()
    for part in (code, verification_token, endpoint_url):
        digest.update(part.encode())
    return digest.hexdigest()


def topic_of(payload: Any) -> str | None:
    metadata = payload.get("metadata") if isinstance(payload, Mapping) else None
    topic = metadata.get("topic") if isinstance(metadata, Mapping) else None
    return str(topic) if topic else None


def notification_id(payload: Any) -> str | None:
    notification = payload.get("notification") if isinstance(payload, Mapping) else None
    found = notification.get("notificationId") if isinstance(notification, Mapping) else None
    return str(found) if found else None


class PublicKeys:
    """Public keys by key id, each fetched once through ``fetch(kid)`` and kept for
    :data:`KEY_TTL` seconds; shared by the threads of a web process."""

    def __init__(
        self,
        fetch: Callable[[str], Mapping[str, Any]],
        *,
        ttl: float = KEY_TTL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fetch, self._ttl, self._clock = fetch, ttl, clock
        self._keys: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._lock = threading.Lock()
        self.fetched = 0

    def get(self, kid: str) -> Mapping[str, Any]:
        with self._lock:
            held = self._keys.get(kid)
            if held is not None and self._clock() < held[0]:
                return held[1]
        key = self._fetch(kid)  # outside the lock: a slow eBay holds up only this key
        with self._lock:
            self._keys[kid] = (self._clock() + self._ttl, key)
            self.fetched += 1
        return key
