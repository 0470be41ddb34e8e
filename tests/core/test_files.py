from __future__ import annotations

from pathlib import Path

from quant_ai._files import read_file_within


def test_reads_only_inside_the_allowed_directories(tmp_path: Path) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (inside / "a.png").write_bytes(b"A")
    (outside / "b.png").write_bytes(b"B")
    (inside / "sub").mkdir()
    (inside / "sub" / "c.png").write_bytes(b"C")
    assert read_file_within("a.png", [inside]) == b"A"
    assert read_file_within(str(inside / "a.png"), [inside]) == b"A"  # absolute, inside
    assert read_file_within("sub/c.png", [inside]) == b"C"
    assert read_file_within("b.png", [inside, outside]) == b"B"  # the second directory
    assert read_file_within(str(outside / "b.png"), [inside]) is None
    assert read_file_within("../out/b.png", [inside]) is None
    assert read_file_within("sub", [inside]) is None  # a directory is no file
    assert read_file_within("a.png", []) is None


def test_odd_references_are_no_files(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"A")
    for reference in ("", "   ", "a.png\x00", "x" * 5000):
        assert read_file_within(reference, [tmp_path]) is None
    assert read_file_within("  a.png  ", [tmp_path]) == b"A"
