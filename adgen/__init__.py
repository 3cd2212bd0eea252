"""adgen: product specs in, on-brand, compliance-checked marketing images out."""

__version__ = "0.1.0"
