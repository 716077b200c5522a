"""SQLite plumbing for the catalog: opening a connection, WAL, transactions, and file names that are not UTF-8."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlite_utils

BUSY_TIMEOUT_S = 60.0

# File names are bytes on Linux; one that is not valid UTF-8 (old Latin-1 archives, Samba shares) reaches
# Python with lone surrogates (surrogateescape), which sqlite3 refuses to bind: a single such name used to
# abort the whole indexing run. Such a str is bound as its original bytes and stored as TEXT (`TEXT_MARK`
# casts it), and `text_from_db` gives back the identical str, so the path still opens, matches and exports.
TEXT_MARK = "CAST(? AS TEXT)"


def to_db(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape")
    return value


def text_from_db(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def mark(value: Any) -> str:
    """The placeholder for a value already passed through `to_db`."""
    return TEXT_MARK if isinstance(value, bytes) else "?"


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else str(path)
    conn = sqlite3.connect(uri, uri=readonly, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
    conn.text_factory = text_from_db
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        enable_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. On a new file that takes a moment of exclusive access, and SQLite answers "database is
    locked" at once (no busy handler) while another process does the same: retry within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); nested use joins the outer transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    params = [to_db(v) for v in values.values()]
    marks = ", ".join(mark(v) for v in params)
    return int(conn.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})", params).lastrowid or 0)


def update(conn: sqlite3.Connection, table: str, row_id: int, values: dict[str, Any]) -> None:
    params = [to_db(v) for v in values.values()]
    sets = ", ".join(f"{c} = {mark(v)}" for c, v in zip(values, params))
    conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*params, row_id))


def is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/\\") + "/") or path.startswith(prefix.rstrip("/\\") + "\\")


class Connected:
    """What every part of the catalog stands on: one SQLite connection (through sqlite-utils) and its transactions.
    `Catalog` combines the parts (facade.py); each part is a group of related operations in a module of its own."""

    db: sqlite_utils.Database

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def transaction(self) -> Transaction:
        return Transaction(self.conn)
