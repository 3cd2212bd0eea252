"""python -m bench: generation (plain diffusers vs adgen), post-processing and overlap, with ratios.

    python -m bench                       # CPU plan: tiny/mid configs, a few minutes
    python -m bench --quick               # smoke size (tests, dry runs)
    python -m bench gen --model sdxl --size full --batch 4 --steps 30 --arms plain-fp16,adgen
    python -m bench post | overlap | flops
    python -m bench batch [ARGS]          # any other bench/NAME.py: its own main(ARGS)
Every suite appends to the JSON file given by --json as soon as it finishes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUITES = ("gen", "post", "overlap", "flops", "batch")
OWN_SUITES = ("gen", "post", "overlap", "flops")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and _is_own_module(argv[0]):
        # Other benchmarks (bench/batch.py, ...) keep their own command line.
        importlib.import_module(f"bench.{argv[0]}").main(argv[1:])
        return 0
    args = _parser().parse_args(argv)
    _hermetic_env()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    document = {"command": "python -m bench " + " ".join(argv),
                "environment": environment(device), "results": []}
    suites = SUITES if args.suite == "all" else (args.suite,)
    for suite in suites:
        started = time.perf_counter()
        try:
            for result in SUITE_FUNCTIONS[suite](args, device):
                result["suite"], result["wall_s"] = suite, round(time.perf_counter() - started, 1)
                document["results"].append(result)
                print(format_result(result), flush=True)
        except Exception as exc:  # one suite failing must not lose the others' figures
            document["results"].append({"suite": suite, "error": f"{type(exc).__name__}: {exc}"})
            print(f"[{suite}] FAILED: {type(exc).__name__}: {exc}", flush=True)
        if args.json:
            _write_json(Path(args.json), document)
    return 1 if any("error" in r for r in document["results"]) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", nargs="?", default="all", choices=("all", *OWN_SUITES))
    parser.add_argument("--quick", action="store_true", help="smoke sizes: tiny configs, one repeat")
    parser.add_argument("--device", help="cpu | cuda (default: cuda when available)")
    parser.add_argument("--model", help="gen: one model (sd15 | sdxl | sd-turbo); default: the device plan")
    parser.add_argument("--size", default=None, help="gen: full | mid | tiny")
    parser.add_argument("--resolution", type=int, default=None, help="gen: output side px")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--arms", default=None, help="comma list of " + ", ".join(ARM_NAMES))
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--json", help="write results here (updated after every suite)")
    return parser


def _is_own_module(name: str) -> bool:
    if name in ("all", *OWN_SUITES) or name.startswith("-"):
        return False
    return importlib.util.find_spec(f"bench.{name}") is not None


def _hermetic_env() -> None:
    # Signing keys and caches go to a throw-away home; brand kits come from the repo.
    os.environ.setdefault("ADGEN_HOME", tempfile.mkdtemp(prefix="adgen-bench-"))
    os.environ.setdefault("ADGEN_BRAND_KITS", str(REPO / "brand_kits"))
    os.environ.setdefault("ADGEN_LORA", str(REPO / "lora"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


# ---- generation -------------------------------------------------------------------------

ARM_NAMES = ("plain", "plain-fp16", "plain-bf16", "adgen", "adgen-eager", "+channels_last", "+fuse_qkv",
             "+bf16", "+compile", "cfg-cut-0.5")
# (model, size, steps, arms): what a plain `python -m bench` runs on each kind of device.
CPU_PLAN = (("sd15", "tiny", 4, "plain,adgen,+channels_last,+fuse_qkv,+bf16,cfg-cut-0.5"),
            ("sd-turbo", "mid", 1, "plain,adgen"),
            ("sdxl", "tiny", 2, "plain,adgen"))
QUICK_PLAN = (("sd15", "tiny", 2, "plain,adgen,cfg-cut-0.5"),)
GPU_PLAN = (("sdxl", "full", 30, "plain-fp16,adgen-eager,adgen"), ("sd-turbo", "full", 1, "plain-fp16,adgen"))


def make_arm(name: str, device: str):
    from adgen.acceleration import Acceleration
    from bench.generation import Arm

    # adgen's arms read ADGEN_ACCEL_* like adgen itself does, so one option can be varied.
    off, tuned = Acceleration.off(), Acceleration.from_env(device)
    options = {
        "plain": off, "plain-fp16": replace(off, dtype="float16"), "plain-bf16": replace(off, dtype="bfloat16"),
        "adgen": tuned, "adgen-eager": replace(tuned, compile=False),
        "+channels_last": replace(off, channels_last=True), "+fuse_qkv": replace(off, fuse_qkv=True),
        "+bf16": replace(off, dtype="bfloat16"), "+compile": replace(off, compile=True),
        "cfg-cut-0.5": tuned,
    }
    if name not in options:
        raise SystemExit(f"unknown arm {name!r}; choose from {', '.join(ARM_NAMES)}")
    return Arm(name, options[name], guidance_cutoff=0.5 if name.startswith("cfg-cut") else 1.0)


def suite_gen(args, device: str):
    from bench.generation import run_arms
    from bench.models import model_spec

    if args.model:
        plan = ((args.model, args.size or ("full" if device != "cpu" else "tiny"), args.steps,
                 args.arms or "plain,adgen"),)
    else:
        plan = QUICK_PLAN if args.quick else (GPU_PLAN if device.startswith("cuda") else CPU_PLAN)
    for model, size, steps, arms in plan:
        spec = model_spec(model, size, args.resolution)
        yield run_arms(spec, [make_arm(name, device) for name in arms.split(",")], device=device,
                       batch=args.batch, steps=args.steps or steps,
                       repeats=args.repeats or (1 if args.quick else 3))


def suite_post(args, device: str):
    from bench.postprocess import profile_postprocess

    yield profile_postprocess(repeats=args.repeats or (1 if args.quick else 3))


def suite_overlap(args, device: str):
    from bench.models import model_spec
    from bench.overlap import measure_overlap

    spec = model_spec(args.model or "sd-turbo", "tiny" if device == "cpu" or args.quick else "full")
    yield measure_overlap(spec, batches=2 if args.quick else 4, batch=args.batch, device=device,
                          rounds=args.repeats or (1 if args.quick else 3))


def suite_flops(args, device: str):
    from bench.flops import image_flops
    from bench.models import MODELS, model_spec

    for model in (("sd-turbo",) if args.quick else MODELS):
        spec = model_spec(model, "full")
        flops = image_flops(spec)
        yield {"model": spec.label, "steps": flops.steps, "tflop_text": round(flops.text / 1e12, 3),
               "tflop_unet_step": round(flops.unet_step / 1e12, 3), "tflop_vae": round(flops.vae / 1e12, 3),
               "tflop_per_image": round(flops.total / 1e12, 2)}


def suite_batch(args, device: str):
    # The batch runner's own engine (bench/batch.py): generation in this process, finishing in worker
    # processes, against one asset after another; the embedded model at its own steps.
    from bench.batch import measure_batch

    yield measure_batch(products=2 if args.quick else 8, steps=2 if args.quick else args.steps,
                        modes=("sequential", "batched", "pipelined"))


SUITE_FUNCTIONS = {"gen": suite_gen, "post": suite_post, "overlap": suite_overlap, "flops": suite_flops,
                   "batch": suite_batch}


# ---- output -----------------------------------------------------------------------------

def environment(device: str) -> dict:
    import diffusers
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
           "platform": platform.platform(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
           "device": device, "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if device.startswith("cuda"):
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
    return env


def format_result(result: dict) -> str:
    suite = result.get("suite")
    if suite == "gen":
        head = (f"[gen] {result['model']} batch {result['batch']} x {result['steps']} steps "
                f"({result['tflop_per_image']} TFLOP/image; MFU vs {result['peak_source']})")
        rows = [f"  {a['arm']:<16} {a['s_per_image']:>8.3f} s/img {a['images_per_s']:>8.2f} img/s "
                f"MFU {a['mfu']:.1%}  x{a['speedup_vs_first']:.2f} wall, x{a['cpu_speedup_vs_first']:.2f} CPU-time"
                f" vs {result['arms'][0]['arm']}"
                f"  PSNR {a['psnr_db_vs_first'] if a['psnr_db_vs_first'] is not None else '-'} dB"
                f"  first call {a['first_call_s']} s" for a in result["arms"]]
        return "\n".join([head, *rows])
    if suite == "post":
        nva = result["naive_vs_adgen"]
        return "\n".join([
            f"[post] {result['format']} {result['size'][0]}x{result['size'][1]} {result['file_type']}: "
            f"median ms per stage {result['stages_ms']}",
            f"  rules ms (each cold) {result['rules_ms']}; all rules in one pass {result.get('rules_one_pass_ms')}",
            f"  OCR ms: {result['ocr_ms']['crop_count']} placed-line reads {result['ocr_ms']['crops']} one call each, "
            f"{result['ocr_ms'].get('crops_batched', '-')} batched; vs full-image "
            f"detection {result['ocr_ms']['full_image']} (x{result['ocr_ms']['full_image'] / max(result['ocr_ms']['crops'], 0.1):.1f});"
            f" per-box crops with detection {result['ocr_ms']['crops_with_detection']}; plate stray-text detection "
            f"{result['ocr_ms'].get('plate_scaled', '-')} at the detector's size vs {result['ocr_ms'].get('plate_as_is', '-')} as is, "
            f"{result['ocr_ms'].get('plate_scaled_again', '-')} for the same plate again (a fix round)",
            "  encoders (ms, KB): " + ", ".join(f"{k} {v[0]} ms {v[1]} KB" for k, v in result["encoders_ms_kb"].items()),
            f"  provenance ms {result['provenance_ms']}",
            f"  check+signed encode: naive {nva['naive_ms']} ms vs adgen {nva['adgen_ms']} ms -> x{nva['ratio']} "
            f"(legibility: {nva['legibility_source']}); OCR alone x{nva.get('ocr_ratio', '-')}, "
            f"ceiling with every shared rule free x{nva.get('ceiling', '-')}"])
    if suite == "overlap":
        return (f"[overlap] {result['model']} {result['batches']} batches of {result['batch']}: sequential "
                f"{result['sequential_s']} s, pipelined {result['pipelined_s']} s -> x{result['ratio']} "
                f"(bound x{result['ratio_bound']}, medians of {result['rounds']}); "
                f"generation busy {result['generation_busy_sequential']:.0%} -> {result['generation_busy_pipelined']:.0%} "
                f"(gen {result['generation_s_per_batch']} s, post {result['postprocess_s_per_batch']} s per batch; "
                f"thread harness: on CPU the [batch] suite measures the real engine)")
    if suite == "batch":
        rows = [f"  {mode:<11} {f['per_min']:>6.1f} assets/min (x{f['x_rate']:.2f}), steady {f['steady_per_min']:.1f}/min "
                f"(x{f['x_steady']:.2f}), first after {f['first_s']} s, generation busy "
                f"{f['generation_busy']:.0%}" for mode, f in result["modes"].items()]
        return "\n".join([f"[batch] {result['assets']} assets, {result['model']}, steps {result['steps']}, "
                          f"{result['workers']} workers, micro-batch {result['batch_size']}; overlap (pipelined/batched, "
                          f"steady) x{result.get('overlap_ratio', float('nan')):.2f}, bound "
                          f"x{result.get('overlap_bound', float('nan')):.2f}", *rows])
    if suite == "flops":
        return (f"[flops] {result['model']}: {result['tflop_per_image']} TFLOP/image = text {result['tflop_text']} "
                f"+ {result['steps']} x UNet {result['tflop_unet_step']} + VAE {result['tflop_vae']}")
    return f"[{suite}] {json.dumps(result)}"


def _write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(json.dumps(document, indent=2, default=str))
    os.replace(temp, path)


if __name__ == "__main__":
    sys.exit(main())
