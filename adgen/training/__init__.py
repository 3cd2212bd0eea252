"""Training: the embedded adgen-tiny base model (base.py) and brand LoRA adapters (lora.py).

Nothing heavy is imported here; each module imports torch/diffusers itself.
"""
