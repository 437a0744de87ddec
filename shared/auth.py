"""Authentication (Cognito JWTs, verified against the pool's JWKS with PyJWT) and
authorization helpers. Roles come from Cognito groups: `applicant`, `program`,
`college`, `admin`; a program account is also in `program-<code>`, a college account
in `college-<id>`."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.errors import Forbidden, Unauthorized

ROLES = ("applicant", "program", "college", "admin")


@dataclass(frozen=True)
class Principal:
    sub: str
    username: str
    role: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def program_code(self) -> str | None:
        return next((g.removeprefix("program-") for g in self.groups if g.startswith("program-")), None)

    @property
    def college_id(self) -> str | None:
        return next((g.removeprefix("college-") for g in self.groups if g.startswith("college-")), None)


def role_from_groups(groups: list[str] | None) -> str:
    names = set(groups or [])
    for role in ("admin", "program", "college"):  # most privileged first
        if role in names:
            return role
    return "applicant"


class TokenVerifier:
    """Checks signature (JWKS), issuer, expiry, token use, and audience (ID token) or
    client_id (access token). All four matter: locally moto signs every pool's tokens
    with one key, so only these claims separate pools."""

    def __init__(self, *, issuer: str, client_id: str, jwks_url: str, leeway: int = 0):
        import jwt  # PyJWT + cryptography: loaded by the first authenticated request, not at import

        self.issuer = issuer
        self.client_id = client_id
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600)
        self.leeway = leeway

    def verify(self, token: str) -> Principal:
        import jwt

        try:
            key = self._jwks.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token, key, algorithms=["RS256"], issuer=self.issuer, leeway=self.leeway,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired; get a new one at POST /auth/token") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(f"the bearer token is not valid: {exc}") from exc
        use = claims.get("token_use")
        if use == "id":
            if claims.get("aud") != self.client_id:
                raise Unauthorized("the token was issued for another client")
        elif use == "access":
            if claims.get("client_id") != self.client_id:
                raise Unauthorized("the token was issued for another client")
        else:
            raise Unauthorized("the token is neither an ID nor an access token")
        groups = claims.get("cognito:groups") or []
        username = claims.get("email") or claims.get("username") or claims.get("cognito:username") or ""
        return Principal(sub=claims["sub"], username=username, role=role_from_groups(groups),
                         groups=frozenset(groups))


def bearer_token(headers) -> str:
    value = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>' (get one at POST /auth/token)")
    return token.strip()


def require_role(principal: Principal, *roles: str) -> None:
    if principal.is_admin or principal.role in roles:
        return
    raise Forbidden(f"this action is for {' or '.join(roles)} accounts; you are signed in as {principal.role}")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this action is for administrators")


def require_owner(principal: Principal, owner_sub: str | None) -> None:
    """An applicant may touch only its own records; administrators all."""
    if principal.is_admin:
        return
    if owner_sub is None or principal.sub != owner_sub:
        raise Forbidden("you may only access your own records")


def require_program(principal: Principal, program_code: str) -> None:
    """A program account may touch only its own program; administrators all."""
    if principal.is_admin:
        return
    if principal.role != "program" or principal.program_code != program_code:
        raise Forbidden(f"only program {program_code}'s own accounts may change it")
