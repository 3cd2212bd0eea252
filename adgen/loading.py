"""Reading YAML/JSON input files into validated models, with errors that name file, field, value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from adgen.errors import InputError, NotFoundError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_mapping(path: Path, what: str) -> dict:
    """Parse a YAML or JSON file that must hold a mapping."""
    if not path.is_file():
        raise NotFoundError(f"{what} file not found", file=str(path))
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a mapping of fields", file=str(path), value=type(data).__name__)
    return data


def validate(model: type[ModelT], data: dict, *, file: str | None, row: int | None = None) -> ModelT:
    """Validate data into model; the first error becomes one InputError naming field and value."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        value = first.get("input") if first["type"] != "missing" else None
        message = first["msg"] if first["type"] != "missing" else "required field is missing"
        raise InputError(message, file=file, row=row, field=field, value=value) from None
