"""Batch throughput: assets per minute, sequential vs pipelined vs Ray, as ratios measured in one run.

    python -m bench batch [--model M] [--products 8] [--formats iab-300x250,fb-link] [--workers 2]

sequential: one process, micro-batch 1, each asset generated then finished (what `adgen generate` does).
batched:    one process, micro-batches of --batch-size prompts, then each asset finished: batching alone.
pipelined:  micro-batches of --batch-size prompts, finishing in --workers processes while the next
            micro-batch generates (`adgen batch`, the default).
ray:        the pipelined plan on a local Ray (`adgen batch --engine ray`).
The driver's pipeline is loaded before timing. Process-pool and Ray-actor start-up are timed (they
are what a user waits for) and also left out, as the steady rate: assets landed after the first
micro-batch's, over the time from its last landing to the run's last (micro-batches land in bursts;
counting from the first landing would credit a whole burst to no time). "generation busy" is the
share of the wall time the driver spent rendering plates: the accelerator's busy fraction.
Without --model the embedded adgen-tiny is used, at its own default steps unless --steps says.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench batch", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="adgen-tiny", help="diffusers folder / .safetensors / cached hub id")
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument("--formats", default="iab-300x250,fb-link")
    parser.add_argument("--steps", type=int, default=None, help="default: the model's own")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--modes", default="sequential,batched,pipelined,ray")
    args = parser.parse_args(argv)
    result = measure_batch(model=args.model, products=args.products, formats=tuple(args.formats.split(",")),
                           steps=args.steps, workers=args.workers, batch_size=args.batch_size,
                           modes=tuple(args.modes.split(",")))
    _print(result)
    return result


def measure_batch(*, model: str = "adgen-tiny", products: int = 8, formats: tuple[str, ...] = ("iab-300x250", "fb-link"),
                  steps: int | None = None, workers: int = 2, batch_size: int = 4,
                  modes: tuple[str, ...] = ("sequential", "batched", "pipelined")) -> dict:
    """Assets per minute (whole run and steady), and generation's busy share, per mode; ratios to the first."""
    work = Path(tempfile.mkdtemp(prefix="adgen-bench-"))
    try:
        catalogue = _catalogue(work, products)
        from adgen.generation import load_pipeline

        load_pipeline(model)  # warm: every mode then starts with the driver's model loaded
        plans = {"sequential": dict(workers=0, batch_size=1),
                 "batched": dict(workers=0, batch_size=batch_size),
                 "pipelined": dict(workers=workers, batch_size=batch_size),
                 "ray": dict(workers=workers, batch_size=batch_size, engine="ray")}
        figures = {mode: _measure(mode, catalogue, work / mode, model, formats, steps, **plans[mode])
                   for mode in modes}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = figures[modes[0]]
    for mode in figures.values():
        mode["x_rate"] = round(mode["per_min"] / base["per_min"], 2)
        mode["x_steady"] = round(mode["steady_per_min"] / base["steady_per_min"], 2)
    result = {"model": Path(model).name, "steps": steps or "model default", "assets": len(formats) * products,
              "workers": workers, "batch_size": batch_size, "modes": figures}
    # Overlap alone is pipelined against batched (same micro-batches, no worker processes); perfect
    # overlap hides the shorter side, (g + p) / max(g, p), from the batched run's shares.
    if "batched" in figures and "pipelined" in figures:
        busy = figures["batched"]["generation_busy"]
        result["overlap_bound"] = round(1 / max(busy, 1 - busy), 2)
        result["overlap_ratio"] = round(figures["pipelined"]["steady_per_min"] / figures["batched"]["steady_per_min"], 2)
    return result


def _measure(mode, catalogue, out, model, formats, steps, *, workers, batch_size, engine="local") -> dict:
    from adgen.batch import BatchOptions, run_batch

    if engine == "ray":
        try:
            import ray
        except ImportError:
            print(f"{mode}: skipped (ray is not installed: pip install 'adgen[ray]')", file=sys.stderr)
            return {"per_min": float("nan"), "steady_per_min": float("nan")}
        ray.init(num_cpus=max(2, workers), include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    options = BatchOptions(catalogue=catalogue, out=out, formats=formats, brand="northwind", model=model,
                           steps=steps, batch_size=batch_size, workers=workers, engine=engine)
    landed: list[float] = []
    with _timing_generation() as generating:
        start = time.perf_counter()
        outcome = run_batch(options, on_result=lambda _: landed.append(time.perf_counter()))
        seconds = time.perf_counter() - start
    if engine == "ray":
        ray.shutdown()
    made = sum(item.status == "done" for item in outcome.items)
    # Steady state: what landed after the first micro-batch's burst, over the time since its last asset.
    burst = min(batch_size, len(landed) - 1)
    steady = ((len(landed) - burst) / (landed[-1] - landed[burst - 1]) * 60
              if len(landed) > burst + 1 else float("nan"))
    print(f"{mode}: {made} assets in {seconds:.1f} s; first after {landed[0] - start:.1f} s; "
          f"steady {steady:.1f}/min", file=sys.stderr)
    figures = {"made": made, "seconds": round(seconds, 1), "first_s": round(landed[0] - start, 1),
               "per_min": round(made / seconds * 60, 1), "steady_per_min": round(steady, 1)}
    if engine != "ray":  # Ray renders inside its actors, out of this process's sight
        figures["generation_busy"] = round(sum(generating) / seconds, 3)
    return figures


@contextmanager
def _timing_generation():
    """Seconds the driver spends in each render_plates call (the local engine renders in this process)."""
    import adgen.engines.local as local

    spans: list[float] = []
    real = local.render_plates

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spans.append(time.perf_counter() - started)

    with mock.patch.object(local, "render_plates", timed):
        yield spans


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


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("mode", "assets/min", "× first", "steady assets/min", "× first", "generation busy",
                  title=f"adgen batch: {result['assets']} assets, model {result['model']}, steps {result['steps']}, "
                        f"workers {result['workers']}, batch size {result['batch_size']}, "
                        f"pipelined/batched x{result.get('overlap_ratio', float('nan')):.2f} "
                        f"(bound x{result.get('overlap_bound', float('nan')):.2f})")
    for mode, f in result["modes"].items():
        busy = f.get("generation_busy")
        table.add_row(mode, f"{f['per_min']:.1f}", f"{f.get('x_rate', float('nan')):.2f}", f"{f['steady_per_min']:.1f}",
                      f"{f.get('x_steady', float('nan')):.2f}", "-" if busy is None else f"{busy:.0%}")
    Console().print(table)
