"""Bearer-token authentication, scopes and owner scoping of principals."""

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt

from payments.shared.errors import Forbidden, Unauthenticated
from payments.shared.input_rules import could_be_id

ALGORITHM = "HS256"
# Verified tokens are remembered so a client's every call skips the signature check. An
# entry ends with its token's exp, and after at most a minute (a JWKS key may be revoked).
VERIFIED_FOR_SECONDS = 60.0
VERIFIED_MAX_TOKENS = 10_000


class Scope(StrEnum):
    READ = "payments:read"
    WRITE = "payments:write"
    REFUND = "payments:refund"
    ADMIN = "payments:admin"


ALL_SCOPES = " ".join(scope.value for scope in Scope)
# What a customer's own token holds: its payments, never anyone else's.
CUSTOMER_SCOPES = " ".join(scope.value for scope in Scope if scope is not Scope.ADMIN)


@dataclass(frozen=True)
class Principal:
    """Who is calling: `sub` owns payments whose customerId equals it."""

    sub: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes

    def require(self, *scopes: Scope) -> None:
        """Raise Forbidden unless the principal holds every one of `scopes`.

        payments:admin widens what a principal sees, and is needed by the admin
        operations (DESIGN), yet never suffices alone: each operation also needs the scope
        of what it does (payments:read to list, payments:write to change state), so a
        read-only back office (payments:read payments:admin) can neither move money nor
        replay webhook events and re-drive deliveries.
        """
        for scope in scopes:
            if scope not in self.scopes:
                raise Forbidden(f"This operation needs the {scope.value} scope.")

    def may_see(self, customer_id: str) -> bool:
        return self.is_admin or customer_id == self.sub


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies bearer JWTs with a shared secret or keys from a JWKS URL."""

    secret: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    _jwks: jwt.PyJWKClient | None = field(default=None, init=False, repr=False, compare=False)
    _verified: dict[str, tuple[Principal, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.jwks_url:
            client = jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=300)
            object.__setattr__(self, "_jwks", client)

    async def authenticate(self, authorization: str | None) -> Principal:
        """Return the principal of an `Authorization: Bearer` header, or raise Unauthenticated."""
        token = _bearer_token(authorization)
        remembered = self._verified.get(token)
        if remembered is not None and time.time() < remembered[1]:
            return remembered[0]
        principal, expires_at = await self._verify(token)
        self._remember(token, principal, expires_at)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        key = await self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM] if self.secret else ["RS256", "ES256"],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Invalid bearer token: {exc}.") from None
        principal = Principal(sub=str(claims["sub"]), scopes=frozenset(_scopes(claims)))
        if not could_be_id(principal.sub):
            raise Unauthenticated("Invalid bearer token: sub is not a usable customer id.")
        return principal, float(claims["exp"])

    def _remember(self, token: str, principal: Principal, expires_at: float) -> None:
        if len(self._verified) >= VERIFIED_MAX_TOKENS:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = (principal, min(expires_at, time.time() + VERIFIED_FOR_SECONDS))

    async def _signing_key(self, token: str) -> Any:
        if self.secret:
            return self.secret
        assert self._jwks is not None
        try:
            # PyJWKClient fetches over blocking HTTP; keep it off the event loop.
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Invalid bearer token: {exc}.") from None
        return signing_key.key


def token_expiry(authorization: str) -> float:
    """The `exp` of a bearer token TokenVerifier has already accepted (not verified again)."""
    claims = jwt.decode(_bearer_token(authorization), options={"verify_signature": False})
    return float(claims["exp"])


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Missing bearer token.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def _scopes(claims: dict[str, object]) -> Iterable[str]:
    scope = claims.get("scope", "")
    return scope.split() if isinstance(scope, str) else ()


def issue_token(
    secret: str,
    sub: str,
    scope: str = ALL_SCOPES,
    ttl_seconds: int = 3600,
    *,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """Sign a development/test token for `sub` with the given space-separated scopes."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "scope": scope, "iat": now, "exp": now + ttl_seconds}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
