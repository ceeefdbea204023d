"""Identity: users, argon2 passwords, JWT access tokens, rotating refresh tokens, sessions.

The use cases here know nothing of HTTP: the service's routes and the ``riskdesk user`` CLI
translate to and from them. See :mod:`riskdesk.identity.service` for how sessions, refresh
rotation and reuse detection work.
"""

from riskdesk.identity._errors import (
    AuthenticationError,
    IdentityPermissionError,
    LastAdminError,
    PasswordPolicyError,
    UserExistsError,
    UserNotFoundError,
)
from riskdesk.identity.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Passwords,
    check_password_policy,
)
from riskdesk.identity.service import (
    LOGIN_FAILED,
    Identity,
    SessionView,
    TokenPair,
    UserView,
)
from riskdesk.identity.tokens import (
    SIGNING_KEY_CONFIG,
    AccessClaims,
    TokenService,
    load_signing_key,
)

__all__ = [
    "LOGIN_FAILED",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SIGNING_KEY_CONFIG",
    "AccessClaims",
    "AuthenticationError",
    "Identity",
    "IdentityPermissionError",
    "LastAdminError",
    "PasswordPolicyError",
    "Passwords",
    "SessionView",
    "TokenPair",
    "TokenService",
    "UserExistsError",
    "UserNotFoundError",
    "UserView",
    "check_password_policy",
    "load_signing_key",
]
