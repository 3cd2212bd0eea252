#!/usr/bin/env bash
# One prepared GPU run of LoRA training (issue 14): SDXL at 1024 px, rank 16, 500 steps, batch 1,
# on the real-size SDXL architecture with random weights (bench/configs/sdxl.json) and a
# procedural photo-like image set, through adgen's own train_lora (lint, buckets, encode, bf16
# autocast, 8-bit AdamW when bitsandbytes is installed, checkpoints every 100 steps). Prints
# steps/s, peak memory and time per epoch, with and without gradient checkpointing; the merged
# JSON goes to docs/benchmarks/train-gpu-<UTC stamp>.json.
#
#   bench/train-gpu.sh             # on the GPU host (~6 min on one H200)
#   bench/train-gpu.sh --dry-run   # the same script on CPU: tiny SDXL-shaped model, 4 steps (~1 min idle)
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
PY=${PY:-.venv/bin/python}
[[ -x "$PY" ]] || PY=$(command -v python3)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
if (( DRY )); then
  OUT=${OUT_JSON:-${TMPDIR:-/tmp}/adgen-train-gpu-dry-run-$STAMP.json}
else
  OUT=${OUT_JSON:-docs/benchmarks/train-gpu-$STAMP.json}
fi
PARTS=$(mktemp -d)
trap 'rm -rf "$PARTS"' EXIT
mkdir -p "$(dirname "$OUT")"

echo "== environment ($STAMP)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
"$PY" - <<'PY'
import importlib.util, torch
print("torch", torch.__version__, "cuda", torch.version.cuda,
      "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
      "bitsandbytes", "yes" if importlib.util.find_spec("bitsandbytes") else "no (torch AdamW)")
PY

# name | timeout s | arguments to python -m bench.train_lora
if (( DRY )); then
  # One case: the SDXL-shaped model at 1/8 width and 64 px, with checkpoints and gradient checkpointing;
  # one thread, as a shared CPU host stalls two OpenMP threads at every barrier.
  CASES=(
    "sdxl-tiny|400|--model sdxl --size tiny --steps 4 --rank 4 --images 6 --warmup 1 --checkpoint-every 2 --device cpu --threads 1 --gradient-checkpointing"
  )
else
  CASES=(
    "sdxl-1024-r16|420|--model sdxl --size full --resolution 1024 --rank 16 --steps 500 --batch 1 --images 24 --device cuda"
    "sdxl-1024-r16-gc|200|--model sdxl --size full --resolution 1024 --rank 16 --steps 100 --batch 1 --images 24 --device cuda --gradient-checkpointing"
  )
fi

for case in "${CASES[@]}"; do
  IFS='|' read -r name limit args <<< "$case"
  echo "== $name (timeout ${limit}s): python -m bench.train_lora $args"
  start=$(date +%s)
  set +e
  # shellcheck disable=SC2086  # args is a word list on purpose
  timeout --signal=TERM --kill-after=10 "$limit" "$PY" -m bench.train_lora $args --json "$PARTS/$name.json" \
    | grep -E '"(model|device|optimizer|precision|setup_seconds|steps_per_second|seconds_per_epoch|batches_per_epoch|peak_memory_gib|total_seconds|final_loss)"'
  rc=${PIPESTATUS[0]}
  set -e
  echo "rc=$rc wall=$(( $(date +%s) - start ))s" > "$PARTS/$name.status"
  (( rc == 124 || rc == 137 )) && echo "!! $name timed out after ${limit}s"
  "$PY" - "$OUT" "$PARTS" <<'PY'
import json, pathlib, sys
out, parts = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
cases = {p.stem: json.loads(p.read_text()) for p in sorted(parts.glob("*.json"))}
for status in sorted(parts.glob("*.status")):
    cases.setdefault(status.stem, {})["status"] = status.read_text().strip()
out.write_text(json.dumps({"script": "bench/train-gpu.sh", "cases": cases}, indent=2))
PY
done
echo "== wrote $OUT"
