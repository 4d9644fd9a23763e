"""Errors are values with a stable code (docs/protocol.md §5.1).

The same code travels on the wire as its number, appears in logs and in the CLI's exit message, exactly as
in the Node library (src/errors.ts), so a Python and a Node program report one failure the same way.
"""
from __future__ import annotations

from typing import Dict

ERROR_CODES: Dict[str, int] = {
    "E_BAD_MAGIC": 1,
    "E_VERSION": 2,
    "E_MALFORMED": 3,
    "E_TOO_LARGE": 4,
    "E_UNEXPECTED": 5,
    "E_AUTH": 6,
    "E_TOO_MANY_CLIENTS": 7,
    "E_TIMEOUT": 8,
    "E_BAD_PARAMS": 9,
    "E_SOURCE": 10,
    "E_UNSUPPORTED": 11,
    "E_SHUTDOWN": 12,
    "E_CONNECT": 13,
    "E_CLOSED": 14,
    "E_TLS": 15,
    "E_RATE_LIMITED": 16,
    "E_IO": 17,
    "E_INTERNAL": 99,
}

_BY_NUMBER: Dict[int, str] = {v: k for k, v in ERROR_CODES.items()}


def code_from_number(n: int) -> str:
    """The name of a wire error number; a number this version does not know is E_INTERNAL (§3.3)."""
    return _BY_NUMBER.get(n, "E_INTERNAL")


class FramewireError(Exception):
    """A failure with a code from ERROR_CODES (``err.code == "E_AUTH"``) and a human-readable message."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown framewire error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"FramewireError({self.code!r}, {self.message!r})"


def as_framewire_error(e: BaseException, code: str = "E_INTERNAL") -> FramewireError:
    """Wrap anything raised into a FramewireError, keeping the original as __cause__."""
    if isinstance(e, FramewireError):
        return e
    err = FramewireError(code, str(e) or type(e).__name__)
    err.__cause__ = e
    return err

