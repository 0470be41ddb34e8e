"""``quant_ai.media``: formats, sniffing, data URLs, document names and local files."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from quant_ai import (
    DocumentNamer,
    QuantValidationError,
    TextBlock,
    document_content,
    image_block,
    mime_from_name,
    parse_data_url,
    read_file_within,
    sniff_image_format,
    video_block,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 16
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 8


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


@pytest.mark.parametrize(
    ("data", "fmt"), [(PNG, "png"), (JPEG, "jpeg"), (GIF, "gif"), (WEBP, "webp")]
)
def test_images_are_recognised_from_bytes_and_base64(data: bytes, fmt: str) -> None:
    assert sniff_image_format(data) == fmt
    assert sniff_image_format(base64.b64encode(data).decode()) == fmt
    block = image_block(data)
    assert block.to_wire()["image"]["format"] == fmt
    assert image_block(base64.b64encode(data).decode()).to_wire() == block.to_wire()


def test_image_types_are_checked_before_sending() -> None:
    assert image_block(PNG, "image/JPG").image.format == "jpeg"  # the declared type wins
    with pytest.raises(QuantValidationError, match="image type 'image/bmp' is not supported"):
        image_block(PNG, "image/bmp")
    with pytest.raises(QuantValidationError, match="cannot tell the image format"):
        image_block(b"plain text")
    assert sniff_image_format("!!!") is None


def test_data_urls() -> None:
    assert parse_data_url("data:image/png;base64,AAAA") == ("image/png", "AAAA")
    assert parse_data_url("data:;base64,AAAA") == (None, "AAAA")
    for bad in ("data:image/png,AAAA", "https://x/y.png", "data:image/png;base64"):
        with pytest.raises(QuantValidationError, match="base64 data URLs"):
            parse_data_url(bad)


def test_videos_need_a_known_type() -> None:
    assert video_block(b"v", "video/quicktime").to_wire()["video"]["format"] == "mov"
    assert mime_from_name("clip.mp4") == "video/mp4"
    assert mime_from_name(None) is None
    with pytest.raises(QuantValidationError, match="video type 'unknown'"):
        video_block(b"v", None)


def test_document_names_are_valid_and_distinct() -> None:
    namer = DocumentNamer()
    names = [
        namer.name("reports/Q3_report (final).pdf"),
        namer.name("Q3 report (final)"),
        namer.name(None),
        namer.name("???"),
        namer.name("C:\\docs\\plan.docx"),
    ]
    assert names == ["Q3-report (final)", "Q3 report (final)", "document-1", "document-2", "plan"]
    assert namer.name("plan.pdf") == "plan-2"
    assert len(DocumentNamer().name("x" * 500)) == 200


def test_document_types_names_and_text_documents() -> None:
    namer = DocumentNamer()
    pdf = document_content(b"%PDF", None, None, namer)
    assert pdf is not None
    assert pdf.to_wire()["document"] == {
        "format": "pdf",
        "name": "document-1",
        "source": {"bytes": base64.b64encode(b"%PDF").decode()},
    }
    sheet = document_content(b"x", None, "sales.xlsx", namer)
    assert sheet is not None
    assert sheet.to_wire()["document"]["format"] == "xlsx"
    assert (
        document_content(b"a,b", "text/csv", "t.csv", namer).to_wire()["document"]["format"]
        == "csv"
    )  # type: ignore[union-attr]
    assert document_content(b"hello", "text/plain", "notes.txt", namer) == TextBlock(
        text="[notes.txt]\nhello"
    )
    assert document_content(base64.b64encode(b"{}").decode(), "application/json", None, namer) == (
        TextBlock(text="[document]\n{}")
    )
    assert document_content(b"  ", "text/plain", None, namer) is None
    with pytest.raises(QuantValidationError, match="document type 'application/zip'"):
        document_content(b"x", "application/zip", None, namer)
