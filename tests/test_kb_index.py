"""The vector index beside a knowledge base's SQLite file: the same passages as scoring every stored vector
exactly, rebuilt after each write, private to the tenant's folder."""

from __future__ import annotations

import numpy as np

from adgen.knowledge import KnowledgeBase, kb_path


def _rows(vectors, kind="claim-evidence", start=0):
    return [(f"doc{(start + i) // 100}.md", kind, None, None, f"passage {start + i}", f"{start + i:064x}", v)
            for i, v in enumerate(vectors)]


def _unit(rng, count, dim=384):
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_index_finds_what_scoring_every_vector_finds_per_kind_and_follows_writes():
    rng = np.random.default_rng(3)
    evidence, guides = _unit(rng, 3000), _unit(rng, 1000)
    kb = KnowledgeBase("acme", "northwind")
    kb.insert_raw(_rows(evidence) + _rows(guides, kind="guideline", start=3000))
    for query in _unit(rng, 5):
        exact = np.argsort(-(evidence @ query))[:5]
        hits = kb.nearest(query, "zz", k=5, kind="claim-evidence")  # "zz": no bigram in any passage
        assert [h.passage.text for h in hits] == [f"passage {i}" for i in exact]
        assert np.allclose([h.score for h in hits], 0.7 * (evidence[exact] @ query), atol=1e-5)  # float32 scores
        everything = np.concatenate([evidence, guides])
        assert kb.nearest(query, "zz", k=1)[0].passage.text == f"passage {int(np.argmax(everything @ query))}"
    folder = kb_path("acme", "northwind").parent / "northwind.index"
    assert folder.stat().st_mode & 0o077 == 0 and len(list(folder.glob("*.faiss"))) == 2  # no copy-history: none
    # A new passage equal to the query is found at once; the earlier index files are gone.
    query = _unit(rng, 1)[0]
    kb.insert_raw(_rows([query], start=9000))
    assert kb.nearest(query, "zz", k=1, kind="claim-evidence")[0].passage.text == "passage 9000"
    assert len(list(folder.glob("*claim-evidence*.faiss"))) == 1


def test_a_new_process_reads_the_index_file_instead_of_every_row(monkeypatch):
    from adgen import kb_index

    rng = np.random.default_rng(4)
    kb = KnowledgeBase("acme", "northwind")
    kb.insert_raw(_rows(_unit(rng, 500)))
    query = _unit(rng, 1)[0]
    first = kb.nearest(query, "zz", k=3, kind="claim-evidence")
    kb_index._CACHE.clear()  # as in a new process: the file is there, the memory is not

    def no_build(*_args):
        raise AssertionError("rebuilt from SQLite although the index file is current")

    monkeypatch.setattr(kb_index, "_build", no_build)
    assert kb.nearest(query, "zz", k=3, kind="claim-evidence") == first


def test_the_latency_bench_measures_the_index_and_the_numpy_store_it_replaced():
    from bench.knowledge import query_latency

    result = query_latency(2000, queries=2)
    assert result["chunks"] == 2000 and result["index_file_mb"] > 2000 * 384 * 2 / 2**20 * 0.99  # float16 vectors
    assert all(result[key] > 0 for key in ("store_ms_median", "store_ms_reopen", "numpy_ms_median"))
