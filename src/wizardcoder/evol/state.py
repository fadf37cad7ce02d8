"""The run's state in SQLite (WAL): every seed and evolved row, every teacher request.

One file, ``state.sqlite`` in the output directory. A request's answer is committed the moment it
arrives and a row the moment it is decided, so a killed run loses at most the requests in flight,
and ``--resume`` repeats none that finished. Row ids are primary keys: nothing is ever duplicated.

Row ids: seeds ``s000017``; the attempt of round ``r`` on a seed's pool slot ``s000017.r2``. Each
slot of the pool evolves independently (round ``r + 1`` starts from the round-``r`` child when it
was accepted, else from the same parent: failed rows go back to the pool, as in the paper).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizardcoder.errors import WizardCoderError

if TYPE_CHECKING:
    from wizardcoder.engines.base import FinishReason

STATE_FILE = "state.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows(
    id TEXT PRIMARY KEY,
    slot INTEGER NOT NULL,              -- the seed's place in the pool
    round INTEGER NOT NULL,             -- 0 for seeds
    parent_id TEXT,
    method TEXT,
    instruction TEXT NOT NULL,
    input TEXT NOT NULL DEFAULT '',
    output TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,               -- seed | accepted | eliminated
    reason TEXT,                        -- why eliminated (see evol.filters)
    detail TEXT,
    teacher TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    source_line INTEGER,                -- seeds: line in the seeds file
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rows_slot ON rows(slot, round);
CREATE TABLE IF NOT EXISTS requests(
    key TEXT PRIMARY KEY,               -- '<row id>:<kind>'
    row_id TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- evolve | judge | answer
    status TEXT NOT NULL,               -- done | failed (failed ones are sent again on resume)
    response TEXT,
    finish_reason TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',  -- JSON list of what each failed attempt got
    seconds REAL NOT NULL DEFAULT 0,
    finished REAL NOT NULL
);
"""


@dataclass
class Row:
    id: str
    slot: int
    round: int
    instruction: str
    input: str = ""
    output: str = ""
    status: str = "seed"
    parent_id: str | None = None
    method: str | None = None
    reason: str | None = None
    detail: str | None = None
    teacher: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    source_line: int | None = None
    created: float = 0.0

    @property
    def kept(self) -> bool:
        return self.status in ("seed", "accepted")


@dataclass
class RequestRecord:
    key: str
    row_id: str
    kind: str
    status: str
    response: str | None = None
    finish_reason: FinishReason | None = None  # a Completion's, as put_request stored it
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    errors: list[str] | None = None
    seconds: float = 0.0
    finished: float = 0.0


_ROW_FIELDS = [f.name for f in fields(Row)]


def seed_id(slot: int) -> str:
    return f"s{slot:06d}"


def child_id(slot: int, round: int) -> str:
    return f"{seed_id(slot)}.r{round}"


class Store:
    """The SQLite file; used from one thread (the event loop's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
            self.db.execute("PRAGMA busy_timeout=10000")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise WizardCoderError(f"{path}: not a usable run state ({exc})") from None
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    # -- run metadata -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        cur = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(cur[0]) if cur else None

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- rows ---------------------------------------------------------------------------------------
    def add_seeds(self, rows: Iterable[Row]) -> None:
        """All seeds in one transaction: a run either has its whole pool or none of it."""
        now = time.time()
        with self._transaction():
            self.db.executemany(
                f"INSERT INTO rows({', '.join(_ROW_FIELDS)}) VALUES ({', '.join('?' * len(_ROW_FIELDS))})",
                ([getattr(r, f) if f != "created" else now for f in _ROW_FIELDS] for r in rows))

    def add_row(self, row: Row) -> None:
        row.created = row.created or time.time()
        self.db.execute(f"INSERT INTO rows({', '.join(_ROW_FIELDS)}) VALUES ({', '.join('?' * len(_ROW_FIELDS))})",
                        [getattr(row, f) for f in _ROW_FIELDS])

    def count_seeds(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM rows WHERE round = 0").fetchone()[0]

    def rows(self, where: str = "", args: tuple[Any, ...] = (), order: str = "round, slot") -> Iterator[Row]:
        sql = f"SELECT {', '.join(_ROW_FIELDS)} FROM rows {('WHERE ' + where) if where else ''} ORDER BY {order}"
        for rec in self.db.execute(sql, args):
            yield Row(**dict(rec))

    def frontier(self) -> dict[int, tuple[Row, int]]:
        """For every slot: the current parent (latest seed/accepted row) and the last round decided."""
        last = dict(self.db.execute("SELECT slot, MAX(round) FROM rows GROUP BY slot").fetchall())
        parents = self.rows("(slot, round) IN (SELECT slot, MAX(round) FROM rows WHERE status IN ('seed', 'accepted') "
                            "GROUP BY slot)", order="slot")
        return {p.slot: (p, last[p.slot]) for p in parents}

    # -- requests -----------------------------------------------------------------------------------
    def request(self, key: str) -> RequestRecord | None:
        rec = self.db.execute("SELECT * FROM requests WHERE key = ?", (key,)).fetchone()
        if rec is None:
            return None
        data = dict(rec)
        data["errors"] = json.loads(data["errors"])
        return RequestRecord(**data)

    def done_requests(self) -> dict[str, RequestRecord]:
        """Finished requests of rows not decided yet (what a resumed run reuses)."""
        out = {}
        for rec in self.db.execute("SELECT * FROM requests WHERE status = 'done' AND row_id NOT IN (SELECT id FROM rows)"):
            data = dict(rec)
            data["errors"] = json.loads(data["errors"])
            out[data["key"]] = RequestRecord(**data)
        return out

    def put_request(self, rec: RequestRecord) -> None:
        data = asdict(rec)
        data["errors"] = json.dumps(rec.errors or [])
        data["finished"] = rec.finished or time.time()
        cols = list(data)
        self.db.execute(f"INSERT OR REPLACE INTO requests({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        [data[c] for c in cols])

    def _transaction(self) -> Any:
        db = self.db

        class _Tx:
            def __enter__(self) -> None:
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type: Any, *_: Any) -> None:
                db.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()


def open_store(directory: Path) -> Store:
    directory.mkdir(parents=True, exist_ok=True)
    return Store(directory / STATE_FILE)
