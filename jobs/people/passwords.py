"""Password hashing: argon2id, with sane production costs and cheap, fixed demo hashes.

Only hashes are stored. ``verify`` reads the cost parameters from the hash itself, so a hash
made with other costs (the demo ones) still verifies, and ``needs_rehash`` says when a login
should store a fresh hash with today's costs.
"""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type, hash_secret

#: argon2-cffi's defaults (RFC 9106 "low memory"): 64 MiB, 3 passes, ~50 ms per hash.
HASHER = PasswordHasher()
#: Demo data only: cheap enough to seed five users in a few milliseconds.
DEMO_COSTS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
#: Hashed when the username is unknown, so a wrong username takes as long as a wrong password.
_DUMMY_HASH = HASHER.hash("not a password of anyone")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with a random salt and the production costs."""
    return HASHER.hash(password)


def demo_hash(username: str, password: str) -> str:
    """A deterministic argon2id hash for a demo user (salt from the username), so seeding
    the demo data gives the same rows every time. Never for real passwords."""
    salt = hashlib.sha256(f"bulkdesk-demo:{username}".encode()).digest()[:16]
    raw = hash_secret(password.encode(), salt, hash_len=32, type=Type.ID, **DEMO_COSTS)
    return raw.decode()


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (``None``: no password set, never)."""
    if not password_hash:
        spend_a_verification(password)
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash was made with other costs than today's production ones."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def spend_a_verification(password: str) -> None:
    """Spend the time of one verification, for unknown users and users without a password."""
    try:
        HASHER.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass
