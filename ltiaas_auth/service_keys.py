"""Where service keys are kept for work done outside a launch (cron jobs, workers).

A launch with grades (AGS) or rosters (NRPS) carries ``services.serviceKey`` in its idtoken. LTIAAS ties one
key to one launch context (platform, course, resource link), and the data behind an older key can go
stale, so a store keeps one key per (platform id, context id, resource link id): the newest launch wins.

Give a store to ``LtiaasConfig(..., service_keys=store)`` and every idtoken fetch records its key; a job
then reads ``store.records()`` and calls LTIAAS inside ``service_context(config, record.service_key)``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from ._syntax import is_token68
from .errors import LtiaasAuthError

if TYPE_CHECKING:
    from .credentials import Launch

__all__ = [
    "MemoryServiceKeyStore",
    "SQLiteServiceKeyStore",
    "ServiceKeyRecord",
    "ServiceKeyStore",
    "ServiceKeyStoreError",
    "record_service_key",
]

log = logging.getLogger("ltiaas_auth")

_Key = tuple[str, str, str]  # absent ids are stored as "" so the tuple stays a usable key


@dataclass(frozen=True, slots=True)
class ServiceKeyRecord:
    """One launch context's service key; ``seen_at`` (POSIX seconds) orders launches: newer wins.

    ``repr`` never shows the key.
    """

    platform_id: str
    context_id: str | None
    resource_link_id: str | None
    service_key: str = field(repr=False)
    seen_at: float

    @classmethod
    def from_idtoken(cls, idtoken: dict[str, Any], seen_at: float) -> ServiceKeyRecord | None:
        """The record an idtoken carries, or None when it has no usable service key or platform id."""
        services, platform, launch = (_object(idtoken, name) for name in ("services", "platform", "launch"))
        service_key, platform_id = _text(services.get("serviceKey")), _text(platform.get("id"))
        if service_key is None or not is_token68(service_key) or platform_id is None:
            return None
        return cls(
            platform_id,
            _text(_object(launch, "context").get("id")),
            _text(_object(launch, "resourceLink").get("id")),
            service_key,
            seen_at,
        )


class ServiceKeyStore(Protocol):
    """What a service key store does; implementations must be safe to call from several threads."""

    def put(self, record: ServiceKeyRecord) -> None:
        """Keep ``record`` unless the store holds a newer one (larger ``seen_at``) for its context."""

    def get(
        self, platform_id: str, context_id: str | None = None, resource_link_id: str | None = None
    ) -> ServiceKeyRecord | None:
        """The record for that launch context, or None."""

    def records(self) -> list[ServiceKeyRecord]:
        """Every record, oldest launch first, for a job to walk through."""


class MemoryServiceKeyStore:
    """A dict behind a lock: for tests and single-process tools that may lose keys on restart."""

    def __init__(self) -> None:
        self._records: dict[_Key, ServiceKeyRecord] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryServiceKeyStore(records={len(self._records)})"

    def put(self, record: ServiceKeyRecord) -> None:
        with self._lock:
            held = self._records.get(_key_of(record))
            if held is None or record.seen_at >= held.seen_at:
                self._records[_key_of(record)] = record

    def get(
        self, platform_id: str, context_id: str | None = None, resource_link_id: str | None = None
    ) -> ServiceKeyRecord | None:
        with self._lock:
            return self._records.get(_key(platform_id, context_id, resource_link_id))

    def records(self) -> list[ServiceKeyRecord]:
        with self._lock:
            return sorted(self._records.values(), key=lambda record: record.seen_at)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS ltiaas_service_keys (
    platform_id TEXT NOT NULL,
    context_id TEXT NOT NULL,
    resource_link_id TEXT NOT NULL,
    service_key TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (platform_id, context_id, resource_link_id)
) WITHOUT ROWID
"""

# One statement, so one short transaction; the WHERE makes an older launch never overwrite a newer one,
# whichever process writes last.
_UPSERT = """
INSERT INTO ltiaas_service_keys (platform_id, context_id, resource_link_id, service_key, seen_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (platform_id, context_id, resource_link_id) DO UPDATE
SET service_key = excluded.service_key, seen_at = excluded.seen_at
WHERE excluded.seen_at >= ltiaas_service_keys.seen_at
"""

_COLUMNS = "platform_id, context_id, resource_link_id, service_key, seen_at"


class ServiceKeyStoreError(LtiaasAuthError):
    """The service key store cannot be used: its file is not a SQLite database, or its path is a
    symbolic link to nowhere (someone else may have planted it to capture the keys)."""

    code = "SERVICE_KEY_STORE_ERROR"
    status = 500
    default_description = "The service key store cannot be used."


class SQLiteServiceKeyStore:
    """A SQLite file shared by the web workers that record keys and the jobs that read them.

    WAL mode lets readers and the writer proceed together; every write is one autocommit statement and a
    locked database is waited on for up to ``timeout`` seconds, so any number of processes can share the
    file. Each thread of each process opens its own connection on first use (a connection must not cross
    ``fork``), so no lock of ours is held while SQLite waits: a write-locked file delays each writer by
    ``timeout`` at most, side by side, never one after the other. ``close()`` (or ``with``) closes this
    process's connections.

    Service keys do not expire, so a new file is created readable by its owner only (SQLite gives its
    ``-wal`` and ``-shm`` files the same mode); an existing file keeps its mode. A path (or a ``-wal``,
    ``-shm`` or ``-journal`` path beside it) that is a symbolic link to nothing is refused, and a file
    that is not a SQLite database raises ``ServiceKeyStoreError``, never ``sqlite3.DatabaseError``.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.Lock()  # guards the list of connections only, never a query
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._ready = False
        self._connect()

    def __repr__(self) -> str:
        return f"SQLiteServiceKeyStore({str(self.path)!r})"

    def __enter__(self) -> SQLiteServiceKeyStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close this process's connections; a later call opens new ones."""
        with self._lock:
            connections, self._connections = self._connections, []
            mine = self._pid == os.getpid()
        if mine:
            for connection in connections:
                connection.close()
        self._local = threading.local()

    def put(self, record: ServiceKeyRecord) -> None:
        self._execute(_UPSERT, (*_key_of(record), record.service_key, record.seen_at))

    def get(
        self, platform_id: str, context_id: str | None = None, resource_link_id: str | None = None
    ) -> ServiceKeyRecord | None:
        query = (
            f"SELECT {_COLUMNS} FROM ltiaas_service_keys "  # noqa: S608 - constant column list
            "WHERE platform_id = ? AND context_id = ? AND resource_link_id = ?"
        )
        rows = self._execute(query, _key(platform_id, context_id, resource_link_id))
        return _record(rows[0]) if rows else None

    def records(self) -> list[ServiceKeyRecord]:
        query = f"SELECT {_COLUMNS} FROM ltiaas_service_keys ORDER BY seen_at"  # noqa: S608 - constant
        return [_record(row) for row in self._execute(query)]

    def _execute(self, query: str, parameters: tuple[object, ...] = ()) -> list[Any]:
        connection = self._connect()
        try:
            return connection.execute(query, parameters).fetchall()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError):
                raise  # locked or busy past the timeout: the caller's to retry
            raise _store_error(error) from None

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the file checked, the schema ensured) on first use."""
        pid = os.getpid()
        if self._pid != pid:  # forked: the parent's connections are not ours to use or close
            with self._lock:
                self._connections, self._pid, self._ready = [], pid, False
            self._local = threading.local()
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        _refuse_dangling_links(self.path)
        with contextlib.suppress(FileExistsError):
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NOFOLLOW, 0o600)
            os.close(fd)  # an empty database
        # timeout= is SQLite's busy_timeout; isolation_level=None makes every statement its own transaction.
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            if not self._ready:
                self._use_wal(connection)
                connection.execute(_SCHEMA)
            connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as error:
            connection.close()
            if isinstance(error, sqlite3.OperationalError) and "not a database" not in str(error):
                raise
            raise _store_error(error) from None
        except BaseException:
            connection.close()
            raise
        with self._lock:
            self._connections.append(connection)
            self._ready = True
        self._local.connection = connection
        return connection

    def _use_wal(self, connection: sqlite3.Connection) -> None:
        # WAL is kept in the file, so this is a no-op but for a new file. Switching one takes an exclusive
        # lock, and SQLite refuses at once ("locked", or the old mode answered back) without running the
        # busy handler while another process holds the file: so retry until the timeout.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() == "wal":
                    return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError("could not switch the service key store to WAL mode")
            time.sleep(0.01)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _refuse_dangling_links(path: Path) -> None:
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        if candidate.is_symlink() and not candidate.exists():
            raise ServiceKeyStoreError(
                f"{candidate} is a symbolic link to nothing; refusing to create a service key store there."
            )


def _store_error(error: sqlite3.DatabaseError) -> ServiceKeyStoreError:
    return ServiceKeyStoreError(
        f"The service key store's file is not a usable SQLite database ({type(error).__name__})."
    )


def record_service_key(store: ServiceKeyStore, idtoken: dict[str, Any], launch: Launch) -> None:
    """Record the service key of a freshly fetched idtoken; never raises, so the fetch never fails for it.

    The launch time orders records: the ltik's ``iat`` when it has one, else now.
    """
    issued_at = launch.ltik.issued_at
    seen_at = issued_at.timestamp() if issued_at is not None else launch.config.clock()
    try:
        record = ServiceKeyRecord.from_idtoken(idtoken, seen_at)
        if record is not None:
            store.put(record)
    except Exception as error:
        # Only the error's type: its text could quote the key.
        log.warning(
            "could not record the service key of ltik %s (%s)", launch.ltik.fingerprint, type(error).__name__
        )


def _key(platform_id: str, context_id: str | None, resource_link_id: str | None) -> _Key:
    return (platform_id, context_id or "", resource_link_id or "")


def _key_of(record: ServiceKeyRecord) -> _Key:
    return _key(record.platform_id, record.context_id, record.resource_link_id)


def _record(row: tuple[str, str, str, str, float]) -> ServiceKeyRecord:
    platform_id, context_id, resource_link_id, service_key, seen_at = row
    return ServiceKeyRecord(platform_id, context_id or None, resource_link_id or None, service_key, seen_at)


def _object(value: dict[str, Any], name: str) -> dict[str, Any]:
    found = value.get(name)
    return found if isinstance(found, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
