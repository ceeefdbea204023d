"""``/v1/users`` (admin): list, create, read, change, reset a password, revoke sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from riskdesk.identity import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    IdentityPermissionError,
    LastAdminError,
    UserView,
)
from riskdesk.service.deps import AdminCaller, State
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import ErrorCode, ProblemError, problem_responses

__all__ = [
    "PasswordResetIn",
    "SessionsRevokedOut",
    "UserCreateIn",
    "UserOut",
    "UserPatchIn",
    "router",
]

router = APIRouter(tags=["users"])

Role = Literal["admin", "trader", "viewer"]
USERNAME = r"^[A-Za-z0-9_.-]{3,50}$"
EMAIL = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"
NAME = r"^[^\x00-\x1f\x7f]*$"

_USER_EXAMPLE: dict[str, JsonValue] = {
    "id": "0193a1f2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    "username": "alice",
    "email": "alice@example.com",
    "role": "trader",
    "is_active": True,
    "first_name": "Alice",
    "last_name": "Martin",
    "created_at": "2026-11-30T19:00:00.000000Z",
    "updated_at": "2026-11-30T19:00:00.000000Z",
    "last_login": "2026-12-01T08:30:00.000000Z",
}


class UserOut(BaseModel):
    """A user (never a password or token hash)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_USER_EXAMPLE]})

    id: str
    username: str
    email: str
    role: Role
    is_active: bool
    first_name: str | None
    last_name: str | None
    created_at: datetime
    updated_at: datetime
    last_login: datetime | None

    @classmethod
    def of(cls, view: UserView) -> UserOut:
        """The wire form of a user."""
        return cls(
            id=str(view.id),
            username=view.username,
            email=view.email,
            role=view.role,  # one of USER_ROLES (a CHECK of the users table)
            is_active=view.is_active,
            first_name=view.first_name,
            last_name=view.last_name,
            created_at=view.created_at,
            updated_at=view.updated_at,
            last_login=view.last_login,
        )


class UserCreateIn(BaseModel):
    """A new account; the username is stored lower-case and is unique ignoring case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "alice",
                    "email": "alice@example.com",
                    "password": "correct horse battery staple",
                    "role": "trader",
                    "first_name": "Alice",
                    "last_name": "Martin",
                }
            ]
        },
    )

    username: str = Field(pattern=USERNAME, description="3-50 letters, digits, '_', '.', '-'.")
    email: str = Field(max_length=255, pattern=EMAIL)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    role: Role
    first_name: str | None = Field(None, max_length=100, pattern=NAME)
    last_name: str | None = Field(None, max_length=100, pattern=NAME)


class UserPatchIn(BaseModel):
    """Fields to change; a field left out (or null) stays as it is.

    Deactivating a user ends all their sessions; the last active admin cannot be demoted or
    deactivated (409).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "viewer"}, {"is_active": False}]},
    )

    role: Role | None = None
    is_active: bool | None = None
    email: str | None = Field(None, max_length=255, pattern=EMAIL)
    first_name: str | None = Field(None, max_length=100, pattern=NAME)
    last_name: str | None = Field(None, max_length=100, pattern=NAME)


class PasswordResetIn(BaseModel):
    """The user's new password (12 to 1024 characters)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"new_password": "a temporary passphrase"}]},
    )

    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class SessionsRevokedOut(BaseModel):
    """How many live sessions were ended."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"revoked": 2}]})

    revoked: int


def _translate(exc: Exception) -> ProblemError:
    if isinstance(exc, LastAdminError):
        return ProblemError(409, ErrorCode.CONFLICT, str(exc))
    return ProblemError(403, ErrorCode.FORBIDDEN, str(exc))


@router.get(
    "/v1/users", response_model=Page[UserOut], responses=problem_responses(400, 401, 403, 422)
)
def list_users(
    caller: AdminCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[UserOut]:
    """Every user, newest first."""
    secret = state.cursor_secret
    result = state.identity.list_users(
        caller, after=after_key(page, secret=secret), limit=page.limit
    )
    return to_page(result, UserOut.of, page, secret=secret)


@router.post(
    "/v1/users",
    status_code=201,
    response_model=UserOut,
    responses=problem_responses(401, 403, 409, 422),
)
def create_user(body: UserCreateIn, caller: AdminCaller, state: State) -> UserOut:
    """Create an account (409 when the username or email is taken)."""
    try:
        view = state.identity.create_user(
            caller,
            username=body.username,
            email=body.email,
            password=body.password,
            role=body.role,
            first_name=body.first_name,
            last_name=body.last_name,
        )
    except IdentityPermissionError as exc:
        raise _translate(exc) from exc
    return UserOut.of(view)


@router.get(
    "/v1/users/{user_id}", response_model=UserOut, responses=problem_responses(401, 403, 404, 422)
)
def get_user(user_id: uuid.UUID, caller: AdminCaller, state: State) -> UserOut:
    """One user."""
    return UserOut.of(state.identity.get_user(caller, user_id))


@router.patch(
    "/v1/users/{user_id}",
    response_model=UserOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_user(
    user_id: uuid.UUID, body: UserPatchIn, caller: AdminCaller, state: State
) -> UserOut:
    """Change a user's role, active flag, email or names (audited with old and new values)."""
    try:
        view = state.identity.update_user(
            caller,
            user_id,
            role=body.role,
            is_active=body.is_active,
            email=body.email,
            first_name=body.first_name,
            last_name=body.last_name,
        )
    except (LastAdminError, IdentityPermissionError) as exc:
        raise _translate(exc) from exc
    return UserOut.of(view)


@router.post(
    "/v1/users/{user_id}/password",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def reset_password(
    user_id: uuid.UUID, body: PasswordResetIn, caller: AdminCaller, state: State
) -> Response:
    """Set a user's password (no current password needed); their sessions all end."""
    state.identity.change_password(caller, user_id, new_password=body.new_password)
    return Response(status_code=204)


@router.delete(
    "/v1/users/{user_id}/sessions",
    response_model=SessionsRevokedOut,
    responses=problem_responses(401, 403, 404, 422),
)
def revoke_sessions(user_id: uuid.UUID, caller: AdminCaller, state: State) -> SessionsRevokedOut:
    """End every live session of a user; their access tokens stop working at once."""
    return SessionsRevokedOut(revoked=state.identity.revoke_sessions(caller, user_id))
