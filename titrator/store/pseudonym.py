"""Keyed pseudonyms: a patient identifier as the facts layer holds it.

`HMAC-SHA256(k, identifier)` with `k = HMAC-SHA256(site key, label)`: the same patient gets the
same pseudonym across stations that share the site key, and without the key nobody can test a
guessed identifier against it (unlike a plain hash of a medical record number). Deriving `k`
keeps the pseudonyms apart from the audit chain's MACs made with the same key.
"""

from __future__ import annotations

import hashlib
import hmac

_LABEL = b"titrator ward-store patient pseudonym v1"


def pseudonym(site_key: bytes, identifier: str) -> str:
    """The pseudonym of one identifier (64 hex digits)."""
    derived = hmac.new(site_key, _LABEL, hashlib.sha256).digest()
    return hmac.new(derived, identifier.encode("utf-8"), hashlib.sha256).hexdigest()
