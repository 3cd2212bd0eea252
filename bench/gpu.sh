#!/usr/bin/env bash
# One prepared GPU run (~8 min on one H200): SDXL 1024^2 x 30 steps at batch 1 and 4
# (plain diffusers fp16 vs adgen eager vs adgen compiled), SD-Turbo 512^2 x 1 step at
# batch 1 and 32, and the overlap of SD-Turbo generation with post-processing (the GPU's
# busy fraction), all from bench/configs with random weights. Each case runs in its own
# process under its own timeout; the merged JSON is rewritten after every case, so a
# timeout or crash keeps what finished.
#
#   bench/gpu.sh             # on the GPU host -> docs/benchmarks/gpu-<UTC stamp>.json
#   bench/gpu.sh --dry-run   # same logic on CPU with tiny configs (minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
PY=${PY:-.venv/bin/python}
[[ -x "$PY" ]] || PY=$(command -v python3)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
if (( DRY )); then
  OUT=${OUT_JSON:-${TMPDIR:-/tmp}/adgen-gpu-dry-run-$STAMP.json}
else
  OUT=${OUT_JSON:-docs/benchmarks/gpu-$STAMP.json}
fi
PARTS=$(mktemp -d)
trap 'rm -rf "$PARTS"' EXIT
mkdir -p "$(dirname "$OUT")"

echo "== environment ($STAMP)"
uname -a
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>/dev/null || echo "no nvidia-smi"
"$PY" - <<'PY'
import diffusers, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "diffusers", diffusers.__version__,
      "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
PY

# name | timeout s | arguments to python -m bench
if (( DRY )); then
  COMMON="--device cpu --size tiny --steps 2 --repeats 1"
  CASES=(
    "sdxl-b1|300|gen --model sdxl $COMMON --batch 1 --arms plain,adgen-eager,adgen"
    "sdxl-b4|300|gen --model sdxl $COMMON --batch 2 --arms plain,adgen"
    "turbo-b1|200|gen --model sd-turbo --device cpu --size tiny --steps 1 --repeats 1 --batch 1 --arms plain,adgen"
    "turbo-b32|200|gen --model sd-turbo --device cpu --size tiny --steps 1 --repeats 1 --batch 2 --arms plain,adgen"
    "overlap|200|overlap --model sd-turbo --device cpu --quick"
  )
  export ADGEN_ACCEL_COMPILE=0   # no inductor on a 2-core dry run
else
  CASES=(
    "sdxl-b1|210|gen --model sdxl --size full --steps 30 --batch 1 --repeats 3 --arms plain-fp16,adgen-eager,adgen"
    "sdxl-b4|150|gen --model sdxl --size full --steps 30 --batch 4 --repeats 2 --arms plain-fp16,adgen"
    "turbo-b1|60|gen --model sd-turbo --size full --steps 1 --batch 1 --repeats 20 --arms plain-fp16,adgen"
    "turbo-b32|75|gen --model sd-turbo --size full --steps 1 --batch 32 --repeats 5 --arms plain-fp16,adgen"
    # The GPU's busy fraction while one thread finishes each batch of 4 (ig-square, full checks).
    "overlap|120|overlap --model sd-turbo --batch 4 --repeats 1"
  )
fi

merge() {
  "$PY" - "$OUT" "$PARTS" <<'PY'
import json, pathlib, sys
out, parts = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
cases = {}
for part in sorted(parts.glob("*.json")):
    try:
        cases[part.stem] = json.loads(part.read_text())
    except ValueError as exc:
        cases[part.stem] = {"error": f"unreadable part: {exc}"}
for status in sorted(parts.glob("*.status")):
    cases.setdefault(status.stem, {})["status"] = status.read_text().strip()
out.write_text(json.dumps({"script": "bench/gpu.sh", "cases": cases}, indent=2))
PY
}

for case in "${CASES[@]}"; do
  IFS='|' read -r name limit args <<< "$case"
  echo "== $name (timeout ${limit}s): python -m bench $args"
  start=$(date +%s)
  set +e
  # shellcheck disable=SC2086  # args is a word list on purpose
  timeout --signal=TERM --kill-after=10 "$limit" "$PY" -m bench $args --json "$PARTS/$name.json"
  rc=$?
  set -e
  echo "rc=$rc wall=$(( $(date +%s) - start ))s" > "$PARTS/$name.status"
  (( rc == 124 || rc == 137 )) && echo "!! $name timed out after ${limit}s"
  merge
done
echo "== wrote $OUT"
