"""Bulk writes of issuance: thousands of credentials stored in one transaction with executemany.

The same guarantees as `UnitOfWork` one by one, kept by the database: every claim moves
confirmed → issued by a compare-and-set UPDATE (`state = 'confirmed'` in its WHERE, its version
bumped), `credential.claim_id` is unique, `(claim_id, seq)` of events is unique and status indexes
are unique per list. Any of them failing raises, and the caller's transaction rolls back whole.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from rpl.status import TakenIndexes
from rpl.storage.status import StatusAllocationRow, count_allocations
from rpl.storage.tables import ClaimEventRow, ClaimRow, CredentialRow

# --- many rows, one statement ---------------------------------------------------------------


def time_ordered_id() -> str:
    """A new id in UUID version 7 layout (RFC 9562 §5.7): 48 bits of Unix time in milliseconds,
    then 74 random bits. Ids made one after another sort together, so rows added in bulk land
    at the end of every index on them instead of on a random page each: with random (version 4)
    ids, a million-row roster made SQLite rewrite an index page per row and index."""
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (
        (millis & (1 << 48) - 1) << 80
        | 0x7 << 76  # version
        | (rand >> 62) << 64  # rand_a, 12 bits
        | 0b10 << 62  # variant
        | rand & (1 << 62) - 1  # rand_b, 62 bits
    )
    return _uuid_text(value)


def random_uuid() -> str:
    """`str(uuid.uuid4())` at about half its cost (bulk issuance makes one per credential)."""
    rand = secrets.randbits(122)
    return _uuid_text(
        (rand >> 74) << 80
        | 0x4 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | rand & (1 << 62) - 1
    )


def _uuid_text(value: int) -> str:
    """The 8-4-4-4-12 form of a 128-bit value, as `str(uuid.UUID(int=value))` writes it."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Page cache of a SQLite connection that writes in bulk (kept for the connection's life). A
# 1M-row direct import (`rpl bench roster`) ran as fast with 128 MiB as with 256 (116.3 s
# against 116.4 s; its random-keyed indexes then hold ~175 MiB, read back from the OS's cache),
# 137 MiB smaller; with 64 MiB, 2.5% slower.
BULK_CACHE_KIB = 128 * 1024
# WAL pages a bulk-writing SQLite connection lets gather before it checkpoints (256 MiB).
BULK_WAL_PAGES = 65_536

_Plan = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], bool]
_PLANS: dict[tuple[str, str, tuple[str, ...]], _Plan] = {}


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """`session.execute(insert(table), rows)`, at a fraction of its cost per row.

    SQLAlchemy builds and processes a parameter dict per row and column (about as long as
    SQLite takes to store the row). Here the statement is compiled once per table and set of
    columns, each column's own bind processor (the dialect's: dates as SQLite stores them,
    for instance) is looked up once, and the rows go to the driver's executemany as they are.
    JSON columns are serialised with orjson on SQLite (the same JSON, read back by the same
    column type); PostgreSQL keeps its driver's own JSON adapter. Every row has the columns of
    the first.
    """
    if not rows:
        return
    connection = _bulk_connection(session)
    given = tuple(rows[0])
    sql, names, processors, positional = _plan(connection, table, given)
    defaults = {n: _scalar_default(table, n) for n in names if n not in given}
    if defaults:  # columns the statement sets from their defaults (e.g. `generation` = 1)
        rows = [{**defaults, **row} for row in rows]
    if positional:
        params: list[Any] = _positional(rows, names, processors)
    else:
        pairs = tuple(zip(names, processors, strict=True))
        params = [{n: row[n] if p is None else p(row[n]) for n, p in pairs} for row in rows]
    connection.exec_driver_sql(sql, params)


class TableRows:
    """Rows of one table as tuples in `names` order, JSON columns encoded as they are added
    (`json_text`): what a signer process hands back, cheap to send between processes (tuples
    of strings, not a dict a row) and written by `insert_rows` as it comes."""

    def __init__(self, table: Table, names: Sequence[str]) -> None:
        self.table, self.names = table.name, tuple(names)
        encoded = {c.name for c in table.columns if isinstance(c.type, JSON)}
        self._json = tuple(i for i, n in enumerate(self.names) if n in encoded)
        self._values = itemgetter(*self.names)
        self.rows: list[tuple[Any, ...]] = []

    def add(self, row: Mapping[str, Any]) -> None:
        values = self._values(row)
        if len(self.names) == 1:
            values = (values,)
        if self._json:
            values = list(values)
            for i in self._json:
                values[i] = json_text(values[i])
            values = tuple(values)
        self.rows.append(values)


def insert_rows(session: Session, table: Table, rows: TableRows) -> None:
    """`insert_many` for `TableRows`: the tuples go to the driver's executemany with only the
    columns' own processors applied (dates), JSON columns as the text they hold."""
    if not rows.rows:
        return
    if rows.table != table.name:
        raise ValueError(f"insert_rows: rows of {rows.table!r} given for {table.name!r}")
    connection = _bulk_connection(session)
    sql, order, processors, positional = _plan(connection, table, rows.names)
    at = {n: i for i, n in enumerate(rows.names)}
    work = [
        (at[n], None if isinstance(table.c[n].type, JSON) else p)
        for n, p in zip(order, processors, strict=True)
    ]
    if positional:
        if [i for i, _ in work] == list(range(len(work))) and all(p is None for _, p in work):
            params: list[Any] = rows.rows
        else:  # column by column (zip and map run in C): a quarter of the cost of row by row
            columns = list(zip(*rows.rows, strict=True))
            ordered = (columns[i] if p is None else map(p, columns[i]) for i, p in work)
            params = list(zip(*ordered, strict=True))
    else:
        named = [(n, i, p) for n, (i, p) in zip(order, work, strict=True)]
        params = [{n: v[i] if p is None else p(v[i]) for n, i, p in named} for v in rows.rows]
    connection.exec_driver_sql(sql, params)


def _bulk_connection(session: Session) -> Connection:
    """The session's connection, set up for bulk writes once (SQLite: page cache, checkpoints)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.info.get("rpl_bulk_cache"):
        # SQLite's default page cache is 2 MiB. Rows keyed by random ids (claims, tokens,
        # natural keys) land on random index pages, so once the indexes outgrow the cache every
        # insert reads pages back from the file: the import slowed down as the database grew.
        connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        # Each bulk commit rewrites every index page its rows touched, and with random keys
        # that is most leaf pages of those indexes. SQLite copies the WAL into the database
        # every 1,000 pages (4 MiB), so after almost every such commit; copying every 64k pages
        # copies a page rewritten by many commits once. 150,000 roster rows: 3.0 GB written
        # instead of 3.6 (`/usr/bin/time -f %O` on `rpl bench roster --runner inline`).
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={BULK_WAL_PAGES}")
        connection.info["rpl_bulk_cache"] = True
    return connection


def _positional(
    rows: Sequence[Mapping[str, Any]],
    names: tuple[str, ...],
    processors: tuple[Callable[[Any], Any] | None, ...],
) -> list[tuple[Any, ...]]:
    get = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    processed = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not processed:
        return [get(row) for row in rows]
    out = []
    for row in rows:
        values = list(get(row))
        for i, process in processed:
            values[i] = process(values[i])
        out.append(tuple(values))
    return out


def execute_many(
    session: Session, name: str, statement: Callable[[], Any], rows: Sequence[Mapping[str, Any]]
) -> Any:
    """`session.execute(statement(), rows)` (an UPDATE or DELETE with bind parameters) the way
    `insert_many` does it: compiled once per `name` and dialect, processors looked up once.
    Values the statement holds itself (literals) are sent as compiled. Returns the result."""
    connection = session.connection()
    dialect = connection.dialect
    key = (dialect.name, name, ())
    plan = _PLANS.get(key)
    if plan is None:
        compiled = statement().compile(dialect=dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.params)
        processors = tuple(_processor(compiled.binds[n].type, dialect) for n in order)
        _FIXED[key] = dict(compiled.params)
        plan = (str(compiled), order, processors, bool(compiled.positional))
        _PLANS[key] = plan
    sql, names, processors, positional = plan
    fixed = _FIXED[key]
    full = [{**fixed, **row} for row in rows]
    if positional:
        params: list[Any] = _positional(full, names, processors)
    else:
        pairs = tuple(zip(names, processors, strict=True))
        params = [{n: row[n] if p is None else p(row[n]) for n, p in pairs} for row in full]
    return connection.exec_driver_sql(sql, params)


_FIXED: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}


def _scalar_default(table: Table, name: str) -> Any:
    default = table.c[name].default
    if default is None or not default.is_scalar:
        raise ValueError(f"insert_many: give {table.name}.{name}, it has no constant default")
    return default.arg


def _plan(connection: Connection, table: Table, names: tuple[str, ...]) -> _Plan:
    dialect = connection.dialect
    key = (dialect.name, table.name, names)
    plan = _PLANS.get(key)
    if plan is None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
        order = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.params)
        processors = tuple(_processor(table.c[name].type, dialect) for name in order)
        plan = (str(compiled), order, processors, bool(compiled.positional))
        _PLANS[key] = plan
    return plan


def _processor(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite" and isinstance(column_type, JSON):
        return json_text
    processor: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(
        dialect
    )
    underlying = getattr(column_type, "impl_instance", column_type)  # a TypeDecorator's own
    if processor is None or not isinstance(underlying, DateTime):
        return processor
    return _remember_last(processor)


def _remember_last(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A datetime column's processor, skipped when handed the very object it was last handed
    (a batch stamps its rows with one `now`): datetimes are immutable, so the same answer."""
    last: list[Any] = [_NOTHING, None]

    def process(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, processor(value)
        return last[1]

    return process


_NOTHING = object()


def json_text(value: Any) -> str | None:
    """A JSON column's value as SQLite stores it (and PostgreSQL reads it)."""
    return None if value is None else orjson.dumps(value).decode()


@dataclass(frozen=True)
class IssuedItem:
    claim_id: str
    credential_id: str
    organisation_id: str
    cryptosuite: str
    verification_method: str
    document: str
    status: tuple[tuple[str, int], ...]  # (purpose, index) signed into the document


class BulkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def allocated_indexes(self, org_id: str, purpose: str) -> TakenIndexes:
        """Every index of the list handed out so far (read once a run, kept as a bitmap)."""
        rows = self.session.execute(
            select(StatusAllocationRow.status_index).where(  # type: ignore[call-overload]
                col(StatusAllocationRow.organisation_id) == org_id,
                col(StatusAllocationRow.purpose) == purpose,
            )
        )
        return TakenIndexes(index for (index,) in rows)

    def sample_documents(self, limit: int) -> list[str]:
        """Up to `limit` stored credentials picked at random (benchmarks and checks verify them)."""
        rows = self.session.execute(
            select(CredentialRow.document).order_by(func.random()).limit(limit)  # type: ignore[call-overload]
        )
        return [document for (document,) in rows]

    def store_issued(self, items: Sequence[IssuedItem], now: datetime) -> None:
        """Mark the claims issued and add their credentials, events and status allocations.

        Raises `ConcurrentUpdateError` if any claim was no longer confirmed, `DuplicateError` if
        any unique key was taken (another run issued the claim or took an index).
        """
        from rpl.storage.unit_of_work import ConcurrentUpdateError

        if not items:
            return
        ids = [i.claim_id for i in items]
        seqs = self._event_counts(ids)
        claim = ClaimRow.__table__  # type: ignore[attr-defined]
        moved = execute_many(
            self.session,
            "claims issued",
            lambda: (
                update(claim)
                .where(claim.c.id == bindparam("b_id"), claim.c.state == "confirmed")
                .values(
                    state="issued",
                    version=claim.c.version + 1,
                    credential_id=bindparam("b_credential"),
                    updated_at=bindparam("b_now", type_=claim.c.updated_at.type),
                )
            ),
            [{"b_id": i.claim_id, "b_credential": i.credential_id, "b_now": now} for i in items],
        )
        if self._moved(moved, ids) != len(items):
            raise ConcurrentUpdateError("a claim of the batch is no longer confirmed")
        with taken_as_duplicate():
            self._insert(items, seqs, now)

    def _moved(self, result: object, ids: list[str]) -> int:
        if self.session.get_bind().dialect.supports_sane_multi_rowcount:
            return int(result.rowcount)  # type: ignore[attr-defined]
        # A driver that cannot count an executemany: count what the batch now holds.
        return int(
            self.session.execute(
                select(func.count())
                .select_from(ClaimRow)
                .where(col(ClaimRow.id).in_(ids), col(ClaimRow.state) == "issued")
            ).scalar_one()
        )

    def _event_counts(self, ids: list[str]) -> dict[str, int]:
        rows = self.session.execute(
            select(ClaimEventRow.claim_id, func.count())  # type: ignore[call-overload]
            .where(col(ClaimEventRow.claim_id).in_(ids))
            .group_by(ClaimEventRow.claim_id)
        )
        return {claim_id: int(n) for claim_id, n in rows}

    def insert_tables(self, tables: Sequence[tuple[Table, TableRows]], now: datetime) -> None:
        """Each table's rows, in the order given (a claim before what refers to it); status
        allocations are counted on their lists. Raises `DuplicateError` if a unique key was
        taken."""
        with taken_as_duplicate():
            for table, rows in tables:
                insert_rows(self.session, table, rows)
                if table is _ALLOCATIONS and rows.rows:
                    org, purpose = (rows.names.index(n) for n in ("organisation_id", "purpose"))
                    lists = [(row[org], row[purpose]) for row in rows.rows]
                    count_allocations(self.session, lists, now)

    def _insert(self, items: Sequence[IssuedItem], seqs: Mapping[str, int], now: datetime) -> None:
        rows = [issued_rows(i, seqs.get(i.claim_id, 0), now) for i in items]
        insert_many(self.session, CredentialRow.__table__, [c for c, _, _ in rows])  # type: ignore[attr-defined]
        insert_many(self.session, ClaimEventRow.__table__, [e for _, e, _ in rows])  # type: ignore[attr-defined]
        allocations = [a for _, _, some in rows for a in some]
        if allocations:
            insert_many(self.session, _ALLOCATIONS, allocations)
            lists = [(a["organisation_id"], a["purpose"]) for a in allocations]
            count_allocations(self.session, lists, now)
        self.session.flush()


_ALLOCATIONS: Table = StatusAllocationRow.__table__  # type: ignore[attr-defined]


@contextmanager
def taken_as_duplicate() -> Iterator[None]:
    """A unique key found taken while writing raises `DuplicateError` (the caller's transaction
    then rolls back whole), as `UnitOfWork.commit` does for keys found taken at commit."""
    from rpl.storage.unit_of_work import DuplicateError

    try:
        yield
    except IntegrityError as err:
        raise DuplicateError(f"a unique key was already taken: {err.orig}") from err


def issued_rows(
    item: IssuedItem, seq: int, now: datetime
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """An issued claim's credential row, its `CredentialIssued` event row (at `seq`) and its
    status allocation rows."""
    credential = {
        "id": item.credential_id,
        "claim_id": item.claim_id,
        "generation": 1,
        "replaces": None,
        "organisation_id": item.organisation_id,
        "cryptosuite": item.cryptosuite,
        "verification_method": item.verification_method,
        "document": item.document,
        "issued_at": now,
    }
    event = {
        "claim_id": item.claim_id,
        "seq": seq,
        "kind": "CredentialIssued",
        "actor": "system",
        "at": now,
        "from_state": "confirmed",
        "to_state": "issued",
        "reason": None,
        "data": {"credential_id": item.credential_id},
    }
    allocations = [
        {
            "organisation_id": item.organisation_id,
            "purpose": purpose,
            "status_index": index,
            "credential_id": item.credential_id,
        }
        for purpose, index in item.status
    ]
    return credential, event, allocations
