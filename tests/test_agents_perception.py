"""Perception of documents: real PDF, DOCX, HTML and CSV files written inside the tests."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import docx
import pytest
from tests_support import minimal_pdf

from hanlin.agents.perception import Perception, PerceptionConfig, PerceptionError
from hanlin.agents.perception.documents import detect_document_kind
from hanlin.llm.messages import AudioPart, FilePart, ImagePart, TextPart, UserMessage


def perceive(
    message: UserMessage, perception: Perception | None = None, **flags: bool
) -> UserMessage:
    return asyncio.run((perception or Perception()).perceive(message, **flags))


def only_text(message: UserMessage) -> str:
    assert isinstance(message.content, list)
    assert all(isinstance(part, TextPart) for part in message.content)
    return message.text()


def test_pdf_text_is_extracted_with_a_header(tmp_path: Path) -> None:
    pdf = tmp_path / "quarterly.pdf"
    pdf.write_bytes(minimal_pdf(["Revenue grew 42 percent", "Hanlin perception works"]))
    out = perceive(UserMessage(content=[TextPart(text="Summarise:"), FilePart(path=str(pdf))]))
    text = only_text(out)
    assert text.startswith("Summarise:\n[Document: quarterly.pdf (PDF)]")
    assert "Revenue grew 42 percent" in text and "Hanlin perception works" in text
    assert "--- page 1 ---" in text


def test_docx_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Meeting notes", level=1)
    document.add_paragraph("The launch moves to Friday.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "owner", "task"
    table.cell(1, 0).text, table.cell(1, 1).text = "Li Wei", "write the docs"
    document.add_paragraph("Closing remark.")
    path = tmp_path / "notes.docx"
    document.save(str(path))
    text = only_text(perceive(UserMessage(content=[FilePart(path=str(path), name="notes.docx")])))
    assert "[Document: notes.docx (DOCX)]" in text
    assert (
        text.index("Meeting notes")
        < text.index("Friday")
        < text.index("| Li Wei | write the docs |")
    )
    assert text.index("write the docs") < text.index("Closing remark.")


def test_html_keeps_visible_text_and_drops_scripts(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>Status page</title><style>p{color:red}</style>"
        "<script>var secret = 'do not show';</script></head><body><h1>All systems</h1>"
        "<p>Latency is&nbsp;12&nbsp;ms &amp; stable.</p>"
        "<ul><li>api</li><li>workers</li></ul></body></html>",
        encoding="utf-8",
    )
    text = only_text(perceive(UserMessage(content=[FilePart(path=str(page))])))
    assert "# Status page" in text and "All systems" in text
    assert "Latency is 12 ms & stable." in text
    assert "secret" not in text and "color" not in text
    assert "api\nworkers" in text


def test_csv_becomes_a_markdown_table_with_a_row_cap(tmp_path: Path) -> None:
    rows = ["city,population,note"] + [f'city{i},{1000 + i},"has, comma | pipe"' for i in range(30)]
    path = tmp_path / "cities.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    perception = Perception(PerceptionConfig(max_table_rows=5))
    text = only_text(perceive(UserMessage(content=[FilePart(path=str(path))]), perception))
    assert "[30 rows x 3 columns]" in text
    assert "| city | population | note |" in text
    assert "| city4 | 1004 | has, comma \\| pipe |" in text
    assert "city5" not in text
    assert "[... 25 more rows not shown]" in text


def test_tsv_and_chinese_text(tmp_path: Path) -> None:
    path = tmp_path / "scores.tsv"
    path.write_text("姓名\t分数\n张三\t90\n", encoding="utf-8")
    text = only_text(perceive(UserMessage(content=[FilePart(path=str(path))])))
    assert "| 姓名 | 分数 |" in text and "| 张三 | 90 |" in text


def test_long_documents_are_truncated_visibly(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("word " * 2000, encoding="utf-8")
    perception = Perception(PerceptionConfig(max_chars_per_part=500))
    text = only_text(perceive(UserMessage(content=[FilePart(path=str(path))]), perception))
    assert "[... truncated: showed 500 of 10000 characters]" in text
    assert len(text) < 700


def test_type_is_detected_from_content_not_only_the_name(tmp_path: Path) -> None:
    pdf_bytes = minimal_pdf(["Mislabelled but fine"])
    assert detect_document_kind(pdf_bytes, "upload.bin") == "pdf"
    path = tmp_path / "upload.bin"
    path.write_bytes(pdf_bytes)
    text = only_text(perceive(UserMessage(content=[FilePart(path=str(path))])))
    assert "Mislabelled but fine" in text


def test_truncated_pdf_raises_a_perception_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(minimal_pdf(["gone"])[:60])
    with pytest.raises(PerceptionError, match="broken.pdf") as caught:
        perceive(UserMessage(content=[FilePart(path=str(path))]))
    assert "PDF" in str(caught.value)


def test_random_bytes_named_docx_raise_a_perception_error(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(os.urandom(2048))
    with pytest.raises(PerceptionError, match="report.docx.*supported: PDF, DOCX"):
        perceive(UserMessage(content=[FilePart(path=str(path))]))


def test_unknown_binary_and_missing_files_raise(tmp_path: Path) -> None:
    blob = tmp_path / "data.xyz"
    blob.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(PerceptionError, match="data.xyz.*unrecognised file type.*supported"):
        perceive(UserMessage(content=[FilePart(path=str(blob))]))
    with pytest.raises(PerceptionError, match="missing.pdf.*No such file"):
        perceive(UserMessage(content=[FilePart(path=str(tmp_path / "missing.pdf"))]))


def test_oversized_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 5000, encoding="utf-8")
    with pytest.raises(PerceptionError, match="big.txt.*5000 bytes exceeds"):
        perceive(
            UserMessage(content=[FilePart(path=str(path))]),
            Perception(PerceptionConfig(max_file_bytes=1000)),
        )


def test_capable_models_get_images_and_audio_untouched() -> None:
    message = UserMessage(
        content=[
            TextPart(text="look and listen"),
            ImagePart(url="https://example.invalid/cat.png"),
            AudioPart(path="/nonexistent/clip.wav"),
        ],
        name="alice",
    )
    out = perceive(message, model_supports_vision=True, model_supports_audio=True)
    assert out == message
    plain = UserMessage(content="just text")
    assert perceive(plain) is plain


def test_remote_image_without_vision_explains_what_works() -> None:
    message = UserMessage(content=[ImagePart(url="https://example.invalid/cat.png")])
    with pytest.raises(PerceptionError, match="cat.png.*vision model"):
        perceive(message)
