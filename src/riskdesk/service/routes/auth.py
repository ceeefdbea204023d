"""``/v1/auth``: login, refresh, logout, the current user and changing one's password."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.identity import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AuthenticationError,
    TokenPair,
)
from riskdesk.service.deps import AnyCaller, State, bearer, client_ip
from riskdesk.service.problems import ErrorCode, ProblemError, problem_responses
from riskdesk.service.routes.users import UserOut

__all__ = ["LoginIn", "PasswordChangeIn", "RefreshIn", "TokenOut", "router"]

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    """A username and password."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "alice", "password": "correct horse battery staple"}]
        },
    )

    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class RefreshIn(BaseModel):
    """A refresh token from a login or an earlier refresh (each is good for one use)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"refresh_token": "3q2-7wRkT0fU5m0lH8Jb3sZ4cO1yV9nX2aQ6eW7rT5k"}]
        },
    )

    refresh_token: str = Field(min_length=1, max_length=512)


class TokenOut(BaseModel):
    """An access token (send it as ``Authorization: Bearer``) and a one-use refresh token."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.sig",
                    "refresh_token": "3q2-7wRkT0fU5m0lH8Jb3sZ4cO1yV9nX2aQ6eW7rT5k",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")

    @classmethod
    def of(cls, pair: TokenPair) -> TokenOut:
        """The wire form of a token pair (the session id stays inside the access token)."""
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
        )


class PasswordChangeIn(BaseModel):
    """Your current password and the new one (12 to 1024 characters)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "current_password": "correct horse battery staple",
                    "new_password": "a longer and newer passphrase",
                }
            ]
        },
    )

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


def _unauthorized(exc: AuthenticationError) -> ProblemError:
    return ProblemError(
        401, ErrorCode.UNAUTHENTICATED, str(exc), headers={"WWW-Authenticate": "Bearer"}
    )


@router.post("/v1/auth/login", response_model=TokenOut, responses=problem_responses(401, 422))
def login(body: LoginIn, request: Request, state: State) -> TokenOut:
    """Exchange a username and password for an access token and a refresh token.

    A wrong username or password answers 401 ``invalid username or password`` (never which).
    """
    try:
        pair = state.identity.login(
            body.username,
            body.password,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except AuthenticationError as exc:
        raise _unauthorized(exc) from exc
    return TokenOut.of(pair)


@router.post("/v1/auth/refresh", response_model=TokenOut, responses=problem_responses(401, 422))
def refresh(body: RefreshIn, request: Request, state: State) -> TokenOut:
    """Exchange a refresh token for a new pair; the token presented is used up.

    Presenting a used refresh token again ends every session of that login (401).
    """
    try:
        pair = state.identity.refresh(
            body.refresh_token,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except AuthenticationError as exc:
        raise _unauthorized(exc) from exc
    return TokenOut.of(pair)


@router.post(
    "/v1/auth/logout",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401),
)
def logout(
    caller: AnyCaller,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """End this login: its access tokens and refresh token stop working at once."""
    assert credentials is not None  # AnyCaller has verified it
    try:
        session_id = state.identity.tokens.decode_access(credentials.credentials).session_id
    except AuthenticationError as exc:
        raise _unauthorized(exc) from exc
    state.identity.logout(caller, session_id=session_id)
    return Response(status_code=204)


@router.get("/v1/auth/me", response_model=UserOut, responses=problem_responses(401))
def me(caller: AnyCaller, state: State) -> UserOut:
    """The logged-in user."""
    assert caller.user_id is not None  # a token always names its user
    return UserOut.of(state.identity.get_user(caller, caller.user_id))


@router.post(
    "/v1/auth/password",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 422),
)
def change_password(body: PasswordChangeIn, caller: AnyCaller, state: State) -> Response:
    """Change your own password; every session of yours ends (log in again).

    A wrong ``current_password`` answers 403 (your token stays valid).
    """
    assert caller.user_id is not None
    try:
        state.identity.change_password(
            caller,
            caller.user_id,
            new_password=body.new_password,
            current_password=body.current_password,
        )
    except AuthenticationError as exc:
        raise ProblemError(403, ErrorCode.FORBIDDEN, str(exc)) from exc
    return Response(status_code=204)
