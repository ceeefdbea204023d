"""FastAPI dependencies: the service state, the authenticated caller and its role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from riskdesk.domain.caller import Caller
from riskdesk.identity import AuthenticationError
from riskdesk.service.problems import ErrorCode, ProblemError
from riskdesk.service.state import ServiceState

__all__ = [
    "AdminCaller",
    "AnyCaller",
    "State",
    "TraderCaller",
    "ViewerCaller",
    "client_ip",
    "get_state",
    "require_role",
]

bearer = HTTPBearer(auto_error=False, description="A JWT access token from POST /v1/auth/login.")


def get_state(request: Request) -> ServiceState:
    """The service state of the app serving ``request``."""
    state: ServiceState = request.app.state.riskdesk
    return state


State = Annotated[ServiceState, Depends(get_state)]


def client_ip(request: Request) -> str:
    """The client's IP address (the peer of the connection; no proxy headers are trusted)."""
    return request.client.host if request.client is not None else "unknown"


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(
        401, ErrorCode.UNAUTHENTICATED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def current_caller(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The authenticated caller; a 401 problem without a valid, unrevoked access token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthenticated("send 'Authorization: Bearer <access token>' (POST /v1/auth/login)")
    try:
        caller = state.identity.authenticate(
            credentials.credentials,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except AuthenticationError as exc:
        raise _unauthenticated(str(exc)) from exc
    request.state.caller = caller
    return caller


def require_role(role: str) -> Callable[[Caller], Caller]:
    """A dependency admitting callers whose role is ``role`` or more privileged."""

    def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if not caller.at_least(role):
            raise ProblemError(
                403,
                ErrorCode.FORBIDDEN,
                f"this action needs the {role} role; you are {caller.role}",
            )
        return caller

    return check


AnyCaller = Annotated[Caller, Depends(current_caller)]
ViewerCaller = Annotated[Caller, Depends(require_role("viewer"))]
TraderCaller = Annotated[Caller, Depends(require_role("trader"))]
AdminCaller = Annotated[Caller, Depends(require_role("admin"))]
