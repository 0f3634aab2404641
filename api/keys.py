"""API keys: made, parsed and checked. A key reads `upk_<id>_<secret>`; only the SHA-256
of the secret is stored, and the id finds the row without scanning."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

ROLES = ("viewer", "operator", "admin")
KEY_PATTERN = re.compile(r"^upk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    id: str
    token: str
    secret_hash: bytes


@dataclass(frozen=True)
class Caller:
    """Who is asking: a key's role and the tenants it may see (None: all of them)."""

    key_id: str
    name: str
    role: str
    tenants: tuple[str, ...] | None

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, tenant_id: str | None) -> bool:
        return self.tenants is None or tenant_id in self.tenants

    @property
    def scope(self) -> list[str] | None:
        """The tenant list to bind in SQL as `($n::text[] is null or tenant_id = any($n))`."""
        return None if self.tenants is None else list(self.tenants)


def new_key() -> NewKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"upk_{key_id}_{secret}", digest(secret))


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_token(token: str) -> tuple[str, str] | None:
    """The (id, secret) of a well-formed key, None otherwise."""
    match = KEY_PATTERN.match(token)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(digest(secret), stored_hash)
