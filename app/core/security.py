"""Password hashing (argon2) and our own tokens: short-lived JWT access + opaque refresh."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.settings import Settings, current

_hasher = PasswordHasher()
# Verified against when a username is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("gongzhi-timing-equaliser")


async def hash_password(password: str) -> str:
    """argon2id hash; runs in a thread because hashing costs tens of milliseconds of CPU."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    jti: str


def issue_access_token(user_id: int, *, now: datetime | None = None) -> tuple[str, datetime]:
    settings = current()
    now = now or datetime.now(UTC)
    expires_at = now + timedelta(seconds=settings.access_token_ttl)
    token = jwt.encode(
        {
            "sub": str(user_id),
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        },
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    return token, expires_at


# Tokens already verified, with their expiry: a client sends the same access token with every
# request for its lifetime, and checking the signature and claims again costs ~0.1 ms. Keyed
# by the settings too, so a changed secret, issuer or audience verifies afresh.
_verified: dict[str, tuple[AccessClaims, float, object]] = {}
_VERIFIED_MAX = 50_000
_LEEWAY_S = 30


def decode_access_token(token: str) -> AccessClaims | None:
    """The token's claims, or None if it is forged, expired, or for another audience."""
    settings = current()
    known = _verified.get(token)
    if known is not None:
        claims, expires, checked_with = known
        if checked_with is settings and time.time() < expires + _LEEWAY_S:
            return claims
        del _verified[token]
    verified = _decode(token, settings)
    if verified is not None:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[token] = (verified[0], verified[1], settings)
        return verified[0]
    return None


def _decode(token: str, settings: Settings) -> tuple[AccessClaims, float] | None:
    try:
        # The algorithm list is fixed here, never read from the token (RFC 8725 §2.1).
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
            leeway=_LEEWAY_S,
        )
        return (AccessClaims(user_id=int(claims["sub"]), jti=str(claims["jti"])),
                float(claims["exp"]))
    except (jwt.PyJWTError, ValueError):
        return None


def new_refresh_token() -> tuple[str, str]:
    """A 256-bit opaque token and the hash we store (the token itself is never stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
