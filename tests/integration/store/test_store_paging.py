import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from riskdesk.store.models import AuditLog
from riskdesk.store.paging import keyset_page
from riskdesk.store.session import RiskdeskSession


def test_keyset_page_with_ties_on_created_at_returns_each_row_once_newest_first(
    db_session: RiskdeskSession,
) -> None:
    base = datetime(2026, 11, 30, 12, tzinfo=UTC)
    # five rows, three sharing one timestamp: the id breaks the tie
    stamps = [
        base,
        base + timedelta(seconds=1),
        base + timedelta(seconds=1),
        base + timedelta(seconds=1),
        base + timedelta(seconds=2),
    ]
    marker = f"paging-{uuid.uuid4().hex[:8]}"
    rows = [AuditLog(actor=marker, event_type="t", created_at=s) for s in stamps]
    db_session.add_all(rows)
    db_session.flush()
    stmt = select(AuditLog).where(AuditLog.actor == marker)

    seen: list[uuid.UUID] = []
    after = None
    pages = 0
    while True:
        page = keyset_page(
            db_session, stmt, created_at=AuditLog.created_at, id_=AuditLog.id, after=after, limit=2
        )
        seen.extend(r.id for r in page.items)
        pages += 1
        if page.next_key is None:
            break
        after = page.next_key

    expected = [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id.hex), reverse=True)]
    assert seen == expected
    assert pages == 3
