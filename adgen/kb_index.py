"""The vector index beside a knowledge base's SQLite file: faiss, half-precision vectors, scanned exactly.

SQLite (adgen.knowledge) holds the passages and their float32 vectors and is the only source of
truth. Search reads an index made from it: one faiss IndexScalarQuantizer(QT_fp16) per embedding
model and passage kind, mapped to the SQLite row ids (IndexIDMap). Every vector is scored (no approximate
neighbours: a claim's evidence must not be missed), at half the memory of float32 and with
faiss's SIMD kernels. Measured at 1 M passages (bench/knowledge.py, docs/knowledge.md): numpy
over the float32 rows no longer held (a re-read of every row per query beyond the in-memory
cap; 1.5 GB resident when kept); this index answers in under 200 ms from 0.75 GB.

The index file is named after the SQLite file's write count ("generation") and instance, so it
is rebuilt — streamed from SQLite in chunks — on the first search after a write, by whichever
process searches first (written to a temporary name, then renamed); another process memory-maps
that file rather than reading every row. Each process keeps its index while no write happens.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from functools import cache
from pathlib import Path

import numpy as np

BUILD_CHUNK_ROWS = 50_000  # rows read from SQLite at a time while an index is made (memory stays bounded)
CACHE_MAX_ENTRIES = 16
_CACHE: dict[tuple, tuple] = {}  # (folder, stem, embedder, kind) -> (version, index)
_LOCK = threading.Lock()


def scores(db: sqlite3.Connection, sqlite_path: Path, embedder: str, kinds: tuple[str, ...], vector: np.ndarray,
           k: int) -> list[tuple[int, float]]:
    """(row id, cosine) of the k stored passages of these kinds closest to a unit vector, best first."""
    version = _version(db)
    found: list[tuple[int, float]] = []
    for kind in kinds:
        index = _index(db, sqlite_path, embedder, kind, version)
        if index is None or not index.ntotal:
            continue
        distances, ids = index.search(np.ascontiguousarray(vector, dtype=np.float32)[None, :], min(k, index.ntotal))
        found += [(int(i), float(d)) for i, d in zip(ids[0], distances[0]) if i >= 0]
    return sorted(found, key=lambda pair: -pair[1])[:k]


def _version(db: sqlite3.Connection) -> str:
    """The file's instance and write count: any add or remove since makes another index name."""
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    return f"{meta.get('instance', 0)}-{meta.get('generation', 0)}"


def _index(db, sqlite_path: Path, embedder: str, kind: str, version: str):
    key = (str(sqlite_path.parent), sqlite_path.stem, embedder, kind)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        index = _load_or_build(db, sqlite_path, embedder, kind, version)
        while len(_CACHE) >= CACHE_MAX_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)), None)
        _CACHE[key] = (version, index)
        return index


def _load_or_build(db, sqlite_path: Path, embedder: str, kind: str, version: str):
    faiss = _faiss()

    folder = sqlite_path.parent / f"{sqlite_path.stem}.index"
    prefix = f"{embedder}.{kind}."
    path = folder / f"{prefix}{version}.faiss"
    if path.is_file():
        try:
            # Mapped, not read: the vectors stay in the page cache, shared by every process that searches.
            return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError:  # a torn or foreign file: made again below
            pass
    index = _build(db, embedder, kind)
    if index is None:
        return None
    folder.mkdir(mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(handle)
    faiss.write_index(index, temporary)
    os.replace(temporary, path)
    for old in folder.glob(f"{prefix}*.faiss"):  # earlier versions: no search will ask for them again
        if old != path:
            old.unlink(missing_ok=True)
    return index


def _build(db, embedder: str, kind: str):
    """The index of one kind's vectors, streamed from SQLite; None when there are none."""
    faiss = _faiss()

    rows = db.execute("SELECT id, vector FROM passages WHERE embedder = ? AND kind = ?", (embedder, kind))
    index = None
    while chunk := rows.fetchmany(BUILD_CHUNK_ROWS):
        ids = np.fromiter((r[0] for r in chunk), dtype=np.int64, count=len(chunk))
        vectors = np.frombuffer(b"".join(r[1] for r in chunk), dtype=np.float32).reshape(len(chunk), -1)
        if index is None:
            index = faiss.IndexIDMap(faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                                                 faiss.METRIC_INNER_PRODUCT))
        index.add_with_ids(np.ascontiguousarray(vectors), ids)
    return index


@cache
def _faiss():
    """faiss, searching on the calling thread: one query is too little work to share, and OpenMP's waiting threads
    cost 60-100 ms a search on a busy machine (measured at 10 k passages on 2 loaded cores: 59 ms with 2 threads,
    0.16 ms with 1). Concurrent searches (the service's threads, batch workers) still run side by side."""
    import faiss

    faiss.omp_set_num_threads(1)
    return faiss
