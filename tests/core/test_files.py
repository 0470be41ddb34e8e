"""``quant_ai._files`` is the old place of ``read_file_within``: the same function."""

from __future__ import annotations

from pathlib import Path

from quant_ai import _files, media


def test_the_old_place_is_the_media_function(tmp_path: Path) -> None:
    assert _files.read_file_within is media.read_file_within
    (tmp_path / "a.txt").write_bytes(b"A")
    assert _files.read_file_within("a.txt", [tmp_path]) == b"A"
