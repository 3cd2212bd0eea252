"""Brand LoRA adapters on one resident pipeline: load each once, then switch by name.

`activate_adapter(pipe, ref)` makes one brand's adapter the only active one (or none),
loading its weights on first use with `load_lora_weights(..., adapter_name=brand)` and
calling `set_adapters` on every switch, so changing brand never reloads the base model.
Works for any diffusers pipeline with LoRA loading (SD 1.5-, SDXL-class, adgen-tiny).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from adgen.errors import ModelError, NotFoundError

ADAPTER_INFO_FILE = "adapter.json"  # written next to the weights by adgen.training.lora


@dataclass(frozen=True)
class AdapterRef:
    """One brand adapter: its name on the pipeline, weights file, scale and trigger words."""

    name: str
    path: Path  # the .safetensors file, or the folder holding exactly one
    weight: float = 0.8
    trigger: str = ""
    sha256: str | None = None  # when set, the file must hash to it (recipes pin adapters)

    def prompt_with_trigger(self, prompt: str) -> str:
        """The prompt with the trigger words in front (once)."""
        if not self.trigger or prompt.startswith(self.trigger):
            return prompt
        return f"{self.trigger}, {prompt}" if prompt else self.trigger


def activate_adapter(pipe, adapter: AdapterRef | None, *, fuse: bool = False) -> None:
    """Make `adapter` the only active LoRA on `pipe` (None turns LoRA off); `fuse` merges it
    into the base weights for throughput, and is undone by the next switch."""
    current = getattr(pipe, "_adgen_fused", None)
    if current is not None and (adapter is None or current != (adapter.name, adapter.weight) or not fuse):
        pipe.unfuse_lora()
        pipe._adgen_fused = None
    if adapter is None:
        if _loaded_names(pipe):
            pipe.disable_lora()
        return
    if adapter.name not in _loaded_names(pipe):
        _load(pipe, adapter)
    # set_adapters after every load and every switch: load_lora_weights makes the newest
    # adapter active at scale 1.0, and disable_lora leaves layers off until enabled.
    pipe.enable_lora()
    pipe.set_adapters([adapter.name], adapter_weights=[adapter.weight])
    if fuse and getattr(pipe, "_adgen_fused", None) is None:
        pipe.fuse_lora(adapter_names=[adapter.name], lora_scale=1.0)
        pipe._adgen_fused = (adapter.name, adapter.weight)


def adapter_file(path: Path) -> Path:
    """The weights file an adapter path names (a .safetensors file or a folder with one)."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        found = sorted(path.glob("*.safetensors"))
        if len(found) == 1:
            return found[0]
        raise NotFoundError(f"expected exactly one .safetensors file in the adapter folder, found {len(found)}",
                            file=str(path))
    raise NotFoundError("LoRA adapter not found", file=str(path))


def adapter_info(path: Path) -> dict:
    """The training metadata (adapter.json) next to an adapter's weights, or {}."""
    info = adapter_file(path).parent / ADAPTER_INFO_FILE
    return json.loads(info.read_text()) if info.is_file() else {}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _loaded_names(pipe) -> set[str]:
    lister = getattr(pipe, "get_list_adapters", None)
    if lister is None:
        return set()
    return {name for names in lister().values() for name in names}


def _load(pipe, adapter: AdapterRef) -> None:
    if not hasattr(pipe, "load_lora_weights"):
        raise ModelError(f"{type(pipe).__name__} cannot load LoRA adapters", field="adapter", value=adapter.name)
    weights = adapter_file(adapter.path)
    if adapter.sha256 is not None and file_sha256(weights) != adapter.sha256:
        raise ModelError("adapter file does not match the sha256 its recipe pins", file=str(weights),
                         field="sha256", value=adapter.sha256)
    try:
        with warnings.catch_warnings():
            # Several named adapters on one resident pipeline is the design, not a mistake.
            warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
            pipe.load_lora_weights(str(weights.parent), weight_name=weights.name, adapter_name=adapter.name)
    except (ValueError, KeyError, RuntimeError) as exc:
        # A LoRA trained for another base (wrong shapes or module names) lands here.
        raise ModelError(f"cannot load LoRA adapter into {type(pipe).__name__}: {exc}",
                         file=str(weights), field="adapter", value=adapter.name) from None
