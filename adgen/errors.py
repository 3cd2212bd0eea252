"""The one family of exceptions: inputs that cannot be processed.

Compliance findings are data (see adgen.compliance); these are for the edges to turn into
a CLI message (exit 2), a 4xx response or a UI error. Each names where the bad value is.
"""

from __future__ import annotations


class AdgenError(Exception):
    """Input adgen cannot process; the message names the file, row, field and value."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None, value: object = None, hint: str | None = None):
        self.file, self.row, self.field, self.value, self.hint = file, row, field, value, hint
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ": ".join([", ".join(where)]) if where else ""
        shown = f" (got {value!r})" if value is not None else ""
        # hint (where adgen looked, what exists) is for the local user: str() shows it, the HTTP
        # service answers with reason alone, so no server path or other tenant's brand leaks.
        extra = f" ({hint})" if hint else ""
        super().__init__(f"{prefix}: {message}{shown}{extra}" if prefix else f"{message}{shown}{extra}")
        self.reason = message


class InputError(AdgenError):
    """A product spec, brand kit, format or CSV row is invalid."""


class NotFoundError(AdgenError):
    """A named brand, format, model or file does not exist where it was looked for."""


class ModelError(AdgenError):
    """A model could not be loaded (missing, not a diffusers layout, wrong family)."""
