"""Reading input files for tools on a model's behalf, confined to directories the caller chose."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["read_file_within"]

_MAX_REFERENCE = 4096


def read_file_within(reference: str, directories: Iterable[str | Path]) -> bytes | None:
    """Read ``reference`` as a file inside one of ``directories``, or return None.

    A tool called by a model must not become a way to read any file of the machine (and send
    it to the service), so a path is only followed when, once resolved (``..`` and symbolic
    links included), it stays inside a directory the caller allowed. Relative references are
    taken relative to each directory; absolute ones must point inside one of them.

    Args:
        reference: A file name or path as the model (or caller) wrote it.
        directories: The directories the caller allowed.

    Returns:
        The file's bytes, or None when the reference is no file inside those directories.
    """
    ref = reference.strip()
    if not ref or len(ref) > _MAX_REFERENCE or "\x00" in ref:
        return None
    for directory in directories:
        base = Path(directory).resolve()
        candidate = (base / ref).resolve()
        if candidate.is_relative_to(base) and candidate.is_file():
            return candidate.read_bytes()
    return None
