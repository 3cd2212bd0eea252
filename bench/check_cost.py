"""Cost of the check step per asset: median over N runs on one 1080x1080 asset (warm engines).

Run: python bench/check_cost.py MODEL_DIR [N]   (a tiny diffusers folder is enough: the plate's
content barely changes the cost; the rules' work scales with the pixels and the placed layers).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from adgen.compliance import RULES, check
from adgen.fixes import Draft, subject_for
from adgen.generation import generate
from adgen.layout import compose
from adgen.pipeline import _encode_draft
from adgen.prompt import build_prompt
from adgen.request import AssetRequest, resolve
from adgen.spec import load_product


def main(model: str, runs: int = 10) -> None:
    spec = load_product(Path(__file__).resolve().parents[1] / "examples/products/northwind-cold-brew.yaml")
    resolved = resolve(AssetRequest(product=spec, brand="northwind", format="ig-square", model=model, steps=2))
    prompt = build_prompt(resolved)
    plate = generate(prompt, resolved)
    draft = Draft(resolved, prompt, plate, compose(plate, resolved))
    _, encoded = _encode_draft(draft)
    check(subject_for(draft, encoded))  # warm: OCR, nudenet and c2pa load once per process
    totals, cpu, encodes, per_rule = [], [], [], {r.id: [] for r in RULES}
    for _ in range(runs):
        start = time.perf_counter()
        _, encoded = _encode_draft(draft)
        encodes.append(time.perf_counter() - start)
        subject = subject_for(draft, encoded)
        start, cpu_start = time.perf_counter(), time.process_time()
        for rule in RULES:
            t = time.perf_counter()
            rule.function(subject)
            per_rule[rule.id].append(time.perf_counter() - t)
        totals.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    ms = lambda xs: round(statistics.median(xs) * 1000, 1)  # noqa: E731
    print(f"check (rules only) median {ms(totals)} ms; encode+sign median {ms(encodes)} ms; "
          f"step 5 total ~{ms(totals) + ms(encodes)} ms over {runs} runs; rules CPU time median {ms(cpu)} ms")
    for rule_id, times in sorted(per_rule.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {rule_id:32s} {ms(times):8.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10)
