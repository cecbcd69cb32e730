"""Bearer-token authentication and role/area authorization: the one auth dependency of every service.

Tokens are JWTs with `sub`, `roles` (see docs/glossary.md) and, for scoped roles, `area`: an administrative
division code (6 digits district 区, 9 digits township 乡镇/街道, 12 digits village 村). An area
contains every code it prefixes, so a township officer reaches exactly the villages of that township.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param

from shared.areas import is_area_code
from shared.errors import Forbidden, Unauthenticated
from shared.settings import ServiceSettings


class Role(StrEnum):
    DISTRICT_OFFICE = "district_office"
    TOWNSHIP_OFFICE = "township_office"
    VILLAGE_CADRE = "village_cadre"
    HELPER_CADRE = "helper_cadre"
    INSPECTOR = "inspector"
    FINANCE_OFFICER = "finance_officer"
    DISCIPLINE_COMMISSION = "discipline_commission"
    AUDITOR = "auditor"
    SERVICE = "service"
    DEPT_CIVIL_AFFAIRS = "dept_civil_affairs"
    DEPT_HEALTH = "dept_health"
    DEPT_EDUCATION = "dept_education"
    DEPT_DISABILITY = "dept_disability"
    DEPT_WATER = "dept_water"
    DEPT_HOUSING = "dept_housing"
    DEPT_MARKET_REGULATION = "dept_market_regulation"
    DEPT_TRAFFIC_POLICE = "dept_traffic_police"
    DEPT_PUBLIC_PAYROLL = "dept_public_payroll"


# Tokens whose principal is remembered (`TokenVerifier.verify`); a few hundred bytes each.
VERIFIED_TOKENS_KEPT = 10_000
# Who did what is recorded by subject in columns of this width (`recorded_by`, `changed_by`, ...).
MAX_SUBJECT_LENGTH = 100
# Roles whose reach is limited to the `area` claim; every other role is district-wide.
AREA_SCOPED = frozenset({Role.TOWNSHIP_OFFICE, Role.VILLAGE_CADRE, Role.HELPER_CADRE})


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject, roles and, for scoped roles, the area they may reach."""

    subject: str
    roles: frozenset[Role]
    area: str | None = None
    # The roles that grant the action at hand (set by `require_roles`). Reach follows them: a township officer
    # who is also an auditor reads district-wide as an auditor, but registers only in the township.
    acting: frozenset[Role] | None = None

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    @property
    def acting_roles(self) -> frozenset[Role]:
        return self.roles if self.acting is None else self.acting

    @property
    def is_area_scoped(self) -> bool:
        """True when every role granting the action is limited to an area (a district-wide one lifts the limit)."""
        return self.acting_roles <= AREA_SCOPED

    def can_reach(self, area_code: str) -> bool:
        """Whether the principal may see or change things in `area_code`."""
        if not self.is_area_scoped:
            return True
        return self.area is not None and area_code.startswith(self.area)

    def ensure_reach(self, area_code: str) -> None:
        """Raise Forbidden unless `area_code` is within the principal's area."""
        if not self.can_reach(area_code):
            raise Forbidden("This record is outside your area.")


class TokenVerifier:
    """Verifies bearer tokens: HS256 with a shared secret locally; RS256 in production with one public key, or
    with a JWKS whose keys are chosen by the token's `kid` (the issuer rotates keys, both valid meanwhile)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._algorithm = settings.jwt_algorithm
        self._audience, self._issuer = settings.jwt_audience, settings.jwt_issuer
        self._max_lifetime_s = settings.jwt_max_lifetime_s
        jwks = settings.jwt_jwks if self._algorithm == "RS256" else None
        self._jwks = _signing_keys(jwt.PyJWKSet.from_json(jwks)) if jwks else None  # checked when settings were read
        self._key: str = (
            settings.jwt_secret.get_secret_value() if self._algorithm == "HS256" else settings.jwt_public_key or ""
        )
        self._verified: dict[bytes, tuple[Principal, float]] = {}  # token digest -> principal, expiry (epoch s)

    def verify(self, token: str) -> Principal:
        """The token's principal: checked once, then remembered until the token expires (a client sends the same
        token with every request: decoding and checking it costs ~25 µs, looking it up here under 1 µs)."""
        key = hashlib.sha256(token.encode()).digest()  # the token itself is not kept
        known = self._verified.get(key)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = self._checked(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # a burst of new tokens costs a check each again, never unbounded memory
        self._verified[key] = (principal, expires)
        return principal

    def _checked(self, token: str) -> tuple[Principal, float]:
        """Decode and check the token; any defect is Unauthenticated with no detail of the token echoed."""
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "aud", *(["iss"] if self._issuer else [])]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The token is invalid.") from exc
        # A stolen token is worth what it has left to live: one valid for months would outlast any revocation.
        if int(claims["exp"]) - int(claims["iat"]) > self._max_lifetime_s:
            raise Unauthenticated(f"The token is valid for longer than {self._max_lifetime_s} seconds.")
        return _principal_from(claims), float(claims["exp"])

    def _key_for(self, token: str) -> Any:
        if self._jwks is None:
            return self._key
        kid = jwt.get_unverified_header(token).get("kid")
        try:
            return self._jwks[str(kid)]
        except KeyError:
            raise Unauthenticated("The token is signed with a key this service does not know.") from None


def _signing_keys(keys: jwt.PyJWKSet) -> dict[str, Any]:
    """The RSA signature keys of an issuer's key set, by key id. The set may also hold keys of other types or uses
    (EC, encryption): a token naming one of those is simply signed with a key this service does not know."""
    return {
        str(k.key_id): k.key
        for k in keys.keys
        if k.key_type == "RSA" and k.public_key_use in (None, "sig") and k.algorithm_name in ("RS256", None)
    }


def _principal_from(claims: dict[str, Any]) -> Principal:
    raw_roles = claims.get("roles", [])
    if not (isinstance(raw_roles, list) and all(isinstance(r, str) for r in raw_roles)):
        raise Unauthenticated("The token's roles claim must be a list of role names.")
    subject = claims["sub"]
    if not (isinstance(subject, str) and 0 < len(subject) <= MAX_SUBJECT_LENGTH and subject.isprintable()):
        raise Unauthenticated(f"The token's subject must be printable text of 1-{MAX_SUBJECT_LENGTH} characters.")
    roles = frozenset(Role(r) for r in raw_roles if r in Role._value2member_map_)
    area = claims.get("area")
    if area is not None and not (isinstance(area, str) and is_area_code(area)):
        raise Unauthenticated("The token's area claim is not a 6-, 9- or 12-digit area code.")
    if roles & AREA_SCOPED and area is None:
        raise Unauthenticated("A scoped role needs an area claim.")
    return Principal(subject=subject, roles=roles, area=area)


def issue_token(
    secret: str,
    subject: str,
    roles: list[str],
    area: str | None = None,
    ttl_s: int = 3600,
    audience: str = "poverty-platform",
) -> str:
    """Issue an HS256 token (local development, tests and the `poverty token` command)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "roles": roles, "aud": audience, "iat": now, "exp": now + ttl_s}
    if area:
        claims["area"] = area
    return jwt.encode(claims, secret, algorithm="HS256")


class BearerToken(SecurityBase):
    """Dependency: the caller presenting a valid bearer token; 401 problem+json without one.

    It is the bearer scheme itself, as FastAPI's `HTTPBearer` is (same scheme in the OpenAPI document), and also
    checks the token: FastAPI's solving of each dependency of a request costs more than what these do.
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="A JWT from the district's identity provider")
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request) -> Principal:
        return self.authenticated(request)

    @staticmethod
    def authenticated(request: Request) -> Principal:
        scheme, credentials = get_authorization_scheme_param(request.headers.get("Authorization"))
        token = credentials.strip() if scheme.lower() == "bearer" else ""
        if not token:
            raise Unauthenticated("A bearer token is required.")
        verifier: TokenVerifier = request.app.state.token_verifier
        return verifier.verify(token)


current_principal = BearerToken()
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class RoleRequirement(BearerToken):
    """Dependency: a bearer token of a caller holding one of `roles`; the principal returned acts in those it holds.

    The roles are kept on the dependency so that each operation's OpenAPI description can say who may call it
    (`shared.openapi`). The token and the roles are checked in the one dependency, for the reason `BearerToken` gives.
    """

    def __init__(self, roles: frozenset[Role]) -> None:
        super().__init__()
        self.roles = roles

    async def __call__(self, request: Request) -> Principal:
        return self.admit(self.authenticated(request))

    def admit(self, principal: Principal) -> Principal:
        """`principal`, acting in the roles it holds of these; 403 problem+json when it holds none."""
        if not principal.has_any(self.roles):
            raise Forbidden("Your role may not perform this action.")
        return replace(principal, acting=principal.roles & self.roles)


def require_roles(*roles: Role) -> RoleRequirement:
    """The dependency that admits callers holding one of `roles`."""
    return RoleRequirement(frozenset(roles))
