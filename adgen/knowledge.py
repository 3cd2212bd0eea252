"""Brand knowledge base: guideline, claim-evidence and copy-history passages, embedded and searched.

One SQLite file per tenant and brand, $ADGEN_HOME/kb/<tenant>/<brand>.sqlite (the CLI's tenant
is "local"). Vectors are float32 blobs in the same rows (the standard library's sqlite3 here
cannot load extensions such as sqlite-vec); search scans a faiss index of them kept beside the
file (adgen.kb_index: every vector scored, half precision), then scores the best candidates
exactly from their float32 blobs. Chosen by measurement at 10 k, 100 k and 1 M passages
(bench/knowledge.py, docs/knowledge.md).
A passage's score blends the dense cosine with a character-bigram overlap (adgen.kb_embed).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from adgen.errors import InputError, NotFoundError
from adgen.kb_embed import DEFAULT_EMBEDDER, blend, embed, lexical_score
from adgen.kb_ingest import KINDS, Passage, passages_of
from adgen.settings import adgen_home, create_private_file, private_dir

LOCAL_TENANT = "local"
RERANK = 50  # the lexical score is computed for this many best dense candidates, not every passage
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SCHEMA = """CREATE TABLE IF NOT EXISTS passages (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, page INTEGER, heading TEXT,
  text TEXT NOT NULL, hash TEXT NOT NULL, embedder TEXT NOT NULL, vector BLOB NOT NULL,
  UNIQUE (source, hash))"""
# generation counts the writes; instance tells a file made anew at the same path from the old one.
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
_BUMP = ("INSERT INTO meta (key, value) VALUES ('generation', 1) "
         "ON CONFLICT (key) DO UPDATE SET value = value + 1")


@dataclass(frozen=True)
class Hit:
    """One search result: a stored passage and its score (0-1, higher is closer)."""

    passage: Passage
    score: float

    def as_dict(self) -> dict:
        p = self.passage
        return {"score": round(self.score, 4), "source": p.source, "page": p.page, "heading": p.heading,
                "kind": p.kind, "text": p.text}


@dataclass(frozen=True)
class Added:
    files: int
    added: int    # passages embedded and stored
    kept: int     # passages unchanged since the file was last added
    removed: int  # passages the new version of a file no longer has


def kb_path(tenant: str, brand_id: str) -> Path:
    """Where a tenant's knowledge for one brand lives (the folder names are made path-safe)."""
    return adgen_home() / "kb" / _safe(tenant) / f"{_safe(brand_id)}.sqlite"


def existing(tenant: str, brand_id: str) -> KnowledgeBase | None:
    """The brand's knowledge base when one has passages; None leaves everything as it was without one."""
    if not kb_path(tenant, brand_id).is_file():
        return None
    kb = KnowledgeBase(tenant, brand_id)
    return kb if kb.count() else None


def guideline_for(brand_id: str, rule_summary: str, message: str, tenant: str = LOCAL_TENANT) -> Hit | None:
    """The brand-book passage closest to a finding (what the rule checks, what it found); None without guidelines."""
    kb = existing(tenant, brand_id)
    hits = kb.search(f"{rule_summary}. {message}", k=1, kind="guideline") if kb else []
    return hits[0] if hits else None


class KnowledgeBase:
    """One tenant's knowledge for one brand (the brand is checked by the caller: load_brand)."""

    def __init__(self, tenant: str, brand_id: str, *, embedder: str = DEFAULT_EMBEDDER):
        self.tenant, self.brand_id, self.embedder = tenant, brand_id, embedder
        self.path = kb_path(tenant, brand_id)

    def add(self, paths: list[Path], kind: str) -> Added:
        """Add files (re-adding a file replaces only its changed passages); all are parsed before any is stored."""
        files = []
        for path in map(Path, paths):
            if not path.is_file():
                raise NotFoundError("no such file", file=str(path))
            files.append((path.name, path.read_bytes()))
        return self.add_bytes(files, kind)

    def add_bytes(self, files: list[tuple[str, bytes]], kind: str) -> Added:
        """(file name, bytes) pairs: the HTTP upload's way in. One transaction: all stored or none."""
        names = [name for name, _ in files]
        if len(set(names)) != len(names):
            raise InputError("two files with the same name", field="files", value=sorted(names))
        parsed = [(name, _unique(passages_of(data, name, kind))) for name, data in files]  # raises before writing
        added = kept = removed = 0
        with closing(self._connect()) as db, db:
            for name, passages in parsed:
                old = dict(db.execute("SELECT hash, id FROM passages WHERE source = ?", (name,)).fetchall())
                new = [p for p in passages if p.hash not in old]
                gone = set(old) - {p.hash for p in passages}
                vectors = embed([p.text for p in new], is_query=False, embedder=self.embedder)
                db.executemany("DELETE FROM passages WHERE id = ?", [(old[h],) for h in gone])
                # OR IGNORE: another process adding the same file meanwhile stored the same passages.
                db.executemany("INSERT OR IGNORE INTO passages (source, kind, page, heading, text, hash, embedder, "
                               "vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               [(p.source, p.kind, p.page, p.heading, p.text, p.hash, self.embedder, v.tobytes())
                                for p, v in zip(new, vectors)])
                # A file re-added under another kind keeps its unchanged passages, now of that kind.
                db.execute("UPDATE passages SET kind = ? WHERE source = ?", (kind, name))
                added, kept, removed = added + len(new), kept + len(passages) - len(new), removed + len(gone)
            db.execute(_BUMP)
        return Added(files=len(parsed), added=added, kept=kept, removed=removed)

    def sources(self) -> list[dict]:
        """Each stored file: name, kind, passages, pages."""
        if not self.path.is_file():
            return []
        with closing(self._connect()) as db:
            rows = db.execute("SELECT source, kind, COUNT(*), COUNT(DISTINCT page) FROM passages "
                              "GROUP BY source, kind ORDER BY source").fetchall()
        return [{"source": s, "kind": k, "passages": n, "pages": pages or None} for s, k, n, pages in rows]

    def remove(self, source: str) -> int:
        """Delete one file's passages; the number removed. An unknown file is an error naming it."""
        with closing(self._connect()) as db, db:
            count = db.execute("DELETE FROM passages WHERE source = ?", (source,)).rowcount
            db.execute(_BUMP)
        if not count:
            raise NotFoundError("no such file in the knowledge base", file=source, hint=f"brand {self.brand_id}")
        return count

    def count(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    def search(self, query: str, *, k: int = 5, kind: str | None = None) -> list[Hit]:
        """The k passages closest to the query, best first; `kind` limits them to one kind."""
        if kind is not None and kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}", field="kind", value=kind)
        if not query.strip():
            raise InputError("the query is empty", field="query", value=query)
        if not self.path.is_file():
            return []
        return self.nearest(_query_vector(query, self.embedder), query, k=k, kind=kind)

    def nearest(self, vector: np.ndarray, query: str, *, k: int = 5, kind: str | None = None) -> list[Hit]:
        """search() after the query is embedded: the index's best candidates, scored exactly and reranked."""
        from adgen import kb_index

        with closing(self._connect()) as db:
            candidates = kb_index.scores(db, self.path, self.embedder, KINDS if kind is None else (kind,), vector,
                                         max(k, RERANK))
            if not candidates:
                return []
            marks = ",".join("?" * len(candidates))
            rows = db.execute(f"SELECT id, source, kind, page, heading, text, hash, vector FROM passages "  # noqa: S608
                              f"WHERE id IN ({marks})", [i for i, _ in candidates]).fetchall()
        # The float32 vectors give the exact cosine the thresholds were chosen with (the index holds float16).
        hits = [Hit(Passage(*row[1:7]), float(blend(float(np.frombuffer(row[7], dtype=np.float32) @ vector),
                                                    lexical_score(query, row[5])))) for row in rows]
        return sorted(hits, key=lambda h: -h.score)[:k]

    def insert_raw(self, rows: list[tuple]) -> None:
        """(source, kind, page, heading, text, hash, vector) rows as they are: for benchmarks of the store."""
        with closing(self._connect()) as db, db:
            db.executemany("INSERT INTO passages (source, kind, page, heading, text, hash, embedder, vector) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(*r[:6], self.embedder, np.asarray(r[6], dtype=np.float32).tobytes()) for r in rows])
            db.execute(_BUMP)

    def _connect(self) -> sqlite3.Connection:
        private_dir(self.path.parent)
        create_private_file(self.path)
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)
        db.execute(_META)
        # A random id per file: a file deleted and made again at the same path is not the cached one.
        if db.execute("SELECT 1 FROM meta WHERE key = 'instance'").fetchone() is None:
            with db:  # committed now: a search must not hold a write transaction open
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', abs(random()))")
        return db


@lru_cache(maxsize=2048)
def _query_vector(query: str, embedder: str) -> np.ndarray:
    """A query's vector, kept: a product's claims are checked again for every format, variant and fix round."""
    vector = embed([query], is_query=True, embedder=embedder)[0]
    vector.flags.writeable = False
    return vector


def _unique(passages: list[Passage]) -> list[Passage]:
    """One passage per hash: the same paragraph twice under one heading is stored once."""
    return list({p.hash: p for p in passages}.values())


def _safe(name: str) -> str:
    """A folder or file name from a tenant or brand id: as it is when path-safe, else a hash of it."""
    if _SAFE_NAME.fullmatch(name) and name not in (".", ".."):
        return name
    return "h-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]
