"""The callback signature: `X-Viber-Content-Signature` is the hex HMAC-SHA256 of the raw body, keyed with the token.

It is checked on the raw bytes before anything parses them, on every event type, and compared in constant time
(the SDK's own `Api.verify_signature` uses `==`, which leaks how many leading characters matched).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Viber-Content-Signature"


def sign(body: bytes, auth_token: str) -> str:
    """What Viber puts in the header for this body."""
    return hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, auth_token: str) -> bool:
    """True only for a present signature that matches this exact body; hex case does not matter."""
    if not signature:
        return False
    expected = sign(body, auth_token)
    # aiohttp keeps undecodable header bytes as surrogates: encoded back the same way, they compare unequal.
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "surrogateescape"))
