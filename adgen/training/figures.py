"""Figures for the training docs, drawn with Pillow (no plotting library needed):
the loss curve of a run log and a labelled grid of sample plates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def loss_curve(log_path: Path, out_png: Path, stage: str = "unet", size: tuple[int, int] = (640, 320)) -> Path:
    """Plot a stage's loss (raw points and a running mean) from a train_log.jsonl."""
    rows = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    points = [(r["step"], r["loss"]) for r in rows if r.get("stage") == stage and "loss" in r]
    w, h = size
    pad = 40
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    if not points:
        draw.text((pad, h // 2), f"no {stage} loss in {log_path}", fill="black")
        img.save(out_png)
        return Path(out_png)
    steps = np.array([p[0] for p in points], float)
    loss = np.array([p[1] for p in points], float)
    k = 9 if len(loss) > 9 else 1
    smooth = np.convolve(loss, np.ones(k) / k, mode="valid")  # "valid": no zero-padded ends
    smooth_steps = steps[k // 2: k // 2 + len(smooth)]
    lo, hi = float(loss.min()), float(np.percentile(loss, 98))
    x_of = lambda s: pad + (w - 2 * pad) * s / max(1.0, steps.max())  # noqa: E731
    y_of = lambda v: h - pad - (h - 2 * pad) * (min(v, hi) - lo) / max(1e-9, hi - lo)  # noqa: E731
    draw.line([(pad, pad), (pad, h - pad), (w - pad, h - pad)], fill="black")
    for s, v in zip(steps, loss):
        draw.point((x_of(s), y_of(v)), fill=(170, 190, 230))
    draw.line([(x_of(s), y_of(v)) for s, v in zip(smooth_steps, smooth)], fill=(20, 60, 160), width=2)
    draw.text((pad, 8), f"adgen-tiny {stage} training loss, steps 0-{int(steps.max())}", fill="black")
    draw.text((4, pad - 12), f"{hi:.3f}", fill="black")
    draw.text((4, h - pad - 6), f"{lo:.3f}", fill="black")
    img.save(out_png)
    return Path(out_png)


def sample_grid(pipe, prompts: list[str], out_png: Path, *, seeds=(0, 1, 2), steps: int = 20,
                guidance: float = 5.0, label_width: int = 300, labels: list[str] | None = None) -> Path:
    """One row per prompt (label, default the prompt, + one plate per seed)."""
    from adgen.plate_guide import render_plain

    side = int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)
    grid = Image.new("RGB", (label_width + side * len(seeds), side * len(prompts)), "white")
    draw = ImageDraw.Draw(grid)
    for row, prompt in enumerate(prompts):
        images = render_plain(pipe, [prompt] * len(seeds), seeds=list(seeds), steps=steps, guidance=guidance)
        draw.text((6, row * side + side // 2 - 6), (labels[row] if labels else prompt)[:48], fill="black")
        for col, image in enumerate(images):
            grid.paste(image, (label_width + col * side, row * side))
    grid.save(out_png)
    return Path(out_png)


# The docs' sample grid: every caption colour, two unseen synonyms, lighting, objects, scenes.
GRID_PROMPTS = (
    "red backdrop", "orange backdrop", "yellow backdrop", "green backdrop", "blue backdrop",
    "purple backdrop", "pink backdrop", "white backdrop", "black backdrop", "beige backdrop",
    "crimson backdrop (unseen word)", "navy backdrop (unseen word)",
    "bright beige studio backdrop", "dark moody beige studio backdrop",
    "blue studio sweep backdrop, round podium", "black backdrop, square pedestal",
    "green table top, marble surface", "pink gradient backdrop fading to white",
    "orange sky backdrop", "purple backdrop, bokeh lights",
)


if __name__ == "__main__":  # python -m adgen.training.figures MODEL_DIR OUT_DIR
    import sys

    from adgen.tiny import TINY_DEFAULT_GUIDANCE, TINY_DEFAULT_STEPS, load_tiny_pipeline

    model_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    loss_curve(model_dir / "train_log.jsonl", out_dir / "adgen-tiny-loss.png")
    pipe = load_tiny_pipeline(model_dir=model_dir)
    # "(unseen word)" is a label for the reader, not part of the prompt.
    labelled = {p: p.replace(" (unseen word)", "") for p in GRID_PROMPTS}
    grid = sample_grid(pipe, list(labelled.values()), out_dir / "adgen-tiny-grid.png", seeds=(0, 1, 2, 3),
                       steps=TINY_DEFAULT_STEPS, guidance=TINY_DEFAULT_GUIDANCE, labels=list(labelled))
    print(grid)
