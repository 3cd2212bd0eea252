"""Batch throughput: assets per minute, sequential vs pipelined vs Ray, as ratios measured in one run.

    python -m bench batch [--model M] [--products 8] [--formats iab-300x250,fb-link] [--workers 2]

sequential: one process, micro-batch 1, each asset generated then finished (what `adgen generate` does).
pipelined:  micro-batches of --batch-size prompts, finishing in --workers processes while the next
            micro-batch generates (`adgen batch`, the default).
ray:        the pipelined plan on a local Ray (`adgen batch --engine ray`).
The driver's pipeline is loaded before timing; process-pool and Ray-actor start-up are timed (they
are what a user waits for) and also left out, as the steady rate after the first asset lands. Without --model the embedded adgen-tiny is used when this build has it,
else the tiny SD 1.5 test pipeline (tests/tiny_pipelines.py), built into a temp folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench batch", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="diffusers folder / .safetensors / cached hub id (default: see above)")
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument("--formats", default="iab-300x250,fb-link")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--modes", default="sequential,pipelined,ray")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="adgen-bench-"))
    try:
        model = args.model or _default_model(work)
        catalogue = _catalogue(work, args.products)
        from adgen.generation import load_pipeline

        load_pipeline(model)  # warm: every mode then starts with the driver's model loaded
        formats = tuple(args.formats.split(","))
        plans = {"sequential": dict(workers=0, batch_size=1),
                 "pipelined": dict(workers=args.workers, batch_size=args.batch_size),
                 "ray": dict(workers=args.workers, batch_size=args.batch_size, engine="ray")}
        rates = {}
        for mode in args.modes.split(","):
            rates[mode] = _measure(mode, catalogue, work / mode, model, formats, args.steps, **plans[mode])
        _print(rates, model, args, len(formats) * args.products)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(mode, catalogue, out, model, formats, steps, *, workers, batch_size, engine="local") -> float:
    from adgen.batch import BatchOptions, run_batch

    if engine == "ray":
        try:
            import ray
        except ImportError:
            print(f"{mode}: skipped (ray is not installed: pip install 'adgen[ray]')", file=sys.stderr)
            return float("nan"), float("nan")
        ray.init(num_cpus=max(2, workers), include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    options = BatchOptions(catalogue=catalogue, out=out, formats=formats, brand="northwind", model=model,
                           steps=steps, batch_size=batch_size, workers=workers, engine=engine)
    landed: list[float] = []
    start = time.perf_counter()
    outcome = run_batch(options, on_result=lambda _: landed.append(time.perf_counter()))
    seconds = time.perf_counter() - start
    if engine == "ray":
        ray.shutdown()
    made = sum(item.status == "done" for item in outcome.items)
    # Steady state: after the first asset lands, i.e. without worker / actor start-up.
    steady = (len(landed) - 1) / (landed[-1] - landed[0]) * 60 if len(landed) > 2 else float("nan")
    print(f"{mode}: {made} assets in {seconds:.1f} s; first after {landed[0] - start:.1f} s; "
          f"steady {steady:.1f}/min", file=sys.stderr)
    return made / seconds * 60, steady


def _default_model(work: Path) -> str:
    try:
        import adgen.tiny  # noqa: F401  (lands on main with the embedded model)

        return "adgen-tiny"
    except ImportError:
        sys.path.insert(0, str(REPO / "tests"))
        from tiny_pipelines import build_sd15, save

        return str(save(build_sd15(seed=0), work / "tiny-sd15"))


def _catalogue(work: Path, products: int) -> Path:
    images = REPO / "examples" / "images"
    names = ["cold-brew-bag.png", "trail-flask.png", "matcha-can.png", "jasmine-tin.png", "mug-photo.jpg"]
    lines = ["sku,name,headline,price,product_image"]
    for index in range(products):
        lines.append(f"B-{index:04d},Product {index},Fresh from batch {index},{9 + index}.99,"
                     f"{images / names[index % len(names)]}")
    path = work / "catalogue.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _print(rates: dict[str, float], model: str, args, assets: int) -> None:
    from rich.console import Console
    from rich.table import Table

    base = rates.get("sequential", (float("nan"), float("nan")))
    table = Table("mode", "assets/min", "× sequential", "steady assets/min", "× sequential",
                  title=f"adgen batch: {assets} assets, model {Path(model).name}, steps {args.steps}, "
                        f"workers {args.workers}, batch size {args.batch_size}")
    for mode, (rate, steady) in rates.items():
        table.add_row(mode, f"{rate:.1f}", f"{rate / base[0]:.2f}", f"{steady:.1f}", f"{steady / base[1]:.2f}")
    Console().print(table)
