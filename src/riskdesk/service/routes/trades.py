"""``/v1/trades``: your drafts, their legs, commits, and the versions you committed.

A draft belongs to the trader who created it: another user's draft (or a version they never
committed) is a 404, never a 403. Every draft answer carries ``ETag: "<rev>"``; the edits
accept ``If-Match: "<rev>"`` and answer 409 CONFLICT when the draft moved on since.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from riskdesk.domain.trades import TradeDraft
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import ErrorCode, FieldError, ProblemError, problem_responses
from riskdesk.service.routes.market import cached_snapshot
from riskdesk.service.schemas import (
    DraftCreateIn,
    DraftOut,
    DraftPatchIn,
    LegIn,
    LegPatchIn,
    VersionOut,
    VersionSummaryOut,
)
from riskdesk.store.paging import KeysetPage
from riskdesk.workbench.snapshots import entry_from_snapshot
from riskdesk.workbench.usecases import DraftRef, Workbench

__all__ = ["parse_if_match", "router"]

router = APIRouter(tags=["trades"])

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=64,
        description='The draft revision you edit over, as its ETag: "3". A draft that moved '
        "on is a 409.",
    ),
]

_DRAFT_ERRORS = problem_responses(401, 403, 404, 409, 422)


def parse_if_match(value: str | None) -> int | None:
    """The revision of an ``If-Match`` header (None when absent or ``*``); 422 otherwise."""
    if value is None:
        return None
    text = value.strip()
    if text == "*":
        return None
    text = text.removeprefix("W/").strip().strip('"')
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ProblemError(
            422,
            ErrorCode.VALIDATION_ERROR,
            f'If-Match {value[:40]!r} is not a draft revision: send the ETag, e.g. "3"',
            errors=[
                FieldError(
                    field="header.If-Match",
                    rule="etag",
                    message='expected a quoted revision number, e.g. "3"',
                )
            ],
        )
    return int(text)


def _draft(ref: DraftRef, response: Response) -> DraftOut:
    response.headers["ETag"] = f'"{ref.rev}"'
    return DraftOut.from_ref(ref)


def _add_leg(
    bench: Workbench, draft_id: uuid.UUID, leg: LegIn, expected_rev: int | None
) -> tuple[DraftRef, str]:
    return bench.add_leg(
        str(draft_id),
        leg.instrument_domain(),
        quantity=leg.quantity,
        fees=leg.fees,
        price=leg.price,
        snapshot_ref=None if leg.snapshot is None else str(leg.snapshot),
        expected_rev=expected_rev,
    )


@router.post(
    "/v1/trades/drafts",
    response_model=DraftOut,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_draft(
    body: DraftCreateIn, caller: TraderCaller, state: State, response: Response
) -> DraftOut:
    """Create a draft (yours), optionally with legs: all of them or nothing is stored."""
    bench = Workbench(state.db, caller)
    draft = TradeDraft(body.name)
    for leg in body.legs:
        instrument = leg.instrument_domain()
        if leg.price is not None:
            entry = leg.price
        else:
            assert leg.snapshot is not None  # LegIn requires price or snapshot
            _, snapshot = cached_snapshot(state, caller, leg.snapshot)
            entry = entry_from_snapshot(snapshot, instrument, leg.quantity)
        draft.add_leg(instrument, quantity=leg.quantity, entry_price=entry, fees=leg.fees)
    return _draft(bench.save_draft(draft), response)


@router.get(
    "/v1/trades/drafts",
    response_model=Page[DraftOut],
    responses=problem_responses(400, 401, 403, 422),
)
def list_drafts(
    caller: ViewerCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[DraftOut]:
    """Your drafts, newest first."""
    secret = state.cursor_secret
    listing = Workbench(state.db, caller).list_drafts(
        limit=page.limit, after=after_key(page, secret=secret)
    )
    return to_page(
        KeysetPage(listing.items, listing.next_key), DraftOut.from_ref, page, secret=secret
    )


@router.get(
    "/v1/trades/drafts/{draft_id}",
    response_model=DraftOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_draft(
    draft_id: uuid.UUID, caller: ViewerCaller, state: State, response: Response
) -> DraftOut:
    """One of your drafts (``ETag`` is its revision)."""
    return _draft(Workbench(state.db, caller).load_draft(str(draft_id)), response)


@router.patch("/v1/trades/drafts/{draft_id}", response_model=DraftOut, responses=_DRAFT_ERRORS)
def rename_draft(
    draft_id: uuid.UUID,
    body: DraftPatchIn,
    caller: TraderCaller,
    state: State,
    response: Response,
    if_match: IfMatch = None,
) -> DraftOut:
    """Rename one of your drafts."""
    ref = Workbench(state.db, caller).rename_draft(
        str(draft_id), body.name, expected_rev=parse_if_match(if_match)
    )
    return _draft(ref, response)


@router.delete(
    "/v1/trades/drafts/{draft_id}",
    status_code=204,
    response_class=Response,
    responses=_DRAFT_ERRORS,
)
def delete_draft(
    draft_id: uuid.UUID, caller: TraderCaller, state: State, if_match: IfMatch = None
) -> Response:
    """Delete one of your drafts (the versions committed from it stay)."""
    Workbench(state.db, caller).delete_draft(str(draft_id), expected_rev=parse_if_match(if_match))
    return Response(status_code=204)


@router.post(
    "/v1/trades/drafts/{draft_id}/legs",
    response_model=DraftOut,
    status_code=201,
    responses=_DRAFT_ERRORS,
)
def add_leg(
    draft_id: uuid.UUID,
    body: LegIn,
    caller: TraderCaller,
    state: State,
    response: Response,
    if_match: IfMatch = None,
) -> DraftOut:
    """Add a leg: at ``price``, or at the snapshot's ask (buy) / bid (sell).

    The new leg is the last of ``legs``; its id is also in the ``Location`` header.
    """
    ref, leg_id = _add_leg(Workbench(state.db, caller), draft_id, body, parse_if_match(if_match))
    response.headers["Location"] = f"/v1/trades/drafts/{draft_id}/legs/{leg_id}"
    return _draft(ref, response)


@router.patch(
    "/v1/trades/drafts/{draft_id}/legs/{leg_id}",
    response_model=DraftOut,
    responses=_DRAFT_ERRORS,
)
def edit_leg(
    draft_id: uuid.UUID,
    leg_id: uuid.UUID,
    body: LegPatchIn,
    caller: TraderCaller,
    state: State,
    response: Response,
    if_match: IfMatch = None,
) -> DraftOut:
    """Change a leg's quantity, entry price, fees or inclusion."""
    ref = Workbench(state.db, caller).edit_leg(
        str(draft_id),
        str(leg_id),
        quantity=body.quantity,
        entry_price=body.entry_price,
        fees=body.fees,
        include=body.include,
        expected_rev=parse_if_match(if_match),
    )
    return _draft(ref, response)


@router.post(
    "/v1/trades/drafts/{draft_id}/legs/{leg_id}/toggle",
    response_model=DraftOut,
    responses=_DRAFT_ERRORS,
)
def toggle_leg(
    draft_id: uuid.UUID,
    leg_id: uuid.UUID,
    caller: TraderCaller,
    state: State,
    response: Response,
    if_match: IfMatch = None,
) -> DraftOut:
    """Include or exclude a leg (it stays in the draft)."""
    ref = Workbench(state.db, caller).toggle_leg(
        str(draft_id), str(leg_id), expected_rev=parse_if_match(if_match)
    )
    return _draft(ref, response)


@router.delete(
    "/v1/trades/drafts/{draft_id}/legs/{leg_id}",
    response_model=DraftOut,
    responses=_DRAFT_ERRORS,
)
def remove_leg(
    draft_id: uuid.UUID,
    leg_id: uuid.UUID,
    caller: TraderCaller,
    state: State,
    response: Response,
    if_match: IfMatch = None,
) -> DraftOut:
    """Remove a leg from one of your drafts."""
    ref = Workbench(state.db, caller).remove_leg(
        str(draft_id), str(leg_id), expected_rev=parse_if_match(if_match)
    )
    return _draft(ref, response)


@router.post(
    "/v1/trades/drafts/{draft_id}/commit",
    response_model=VersionOut,
    status_code=201,
    responses=_DRAFT_ERRORS,
)
def commit_draft(
    draft_id: uuid.UUID, caller: TraderCaller, state: State, if_match: IfMatch = None
) -> VersionOut:
    """Freeze the draft into an immutable, hashed version (yours from now on)."""
    ref = Workbench(state.db, caller).commit_draft(
        str(draft_id), expected_rev=parse_if_match(if_match)
    )
    return VersionOut.from_ref(ref)


@router.get(
    "/v1/trades/versions",
    response_model=Page[VersionSummaryOut],
    responses=problem_responses(400, 401, 403, 422),
)
def list_versions(
    caller: ViewerCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[VersionSummaryOut]:
    """Your commits, newest first."""
    secret = state.cursor_secret
    listing = Workbench(state.db, caller).list_versions(
        limit=page.limit, after=after_key(page, secret=secret)
    )
    return to_page(
        KeysetPage(listing.items, listing.next_key),
        VersionSummaryOut.from_summary,
        page,
        secret=secret,
    )


@router.get(
    "/v1/trades/versions/{version_id}",
    response_model=VersionOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_version(version_id: uuid.UUID, caller: ViewerCaller, state: State) -> VersionOut:
    """A version you committed."""
    return VersionOut.from_ref(Workbench(state.db, caller).load_version(str(version_id)))
