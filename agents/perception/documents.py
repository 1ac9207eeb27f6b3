"""Documents to text: PDF (pypdf), DOCX (python-docx), HTML (standard library), CSV/TSV, plain text.

The type is decided from the bytes first (``%PDF-``, a ZIP holding ``word/document.xml``)
and from the file name second, so a mislabelled upload is still read correctly and random
bytes under a trusted extension fail loudly instead of reaching the model as garbage.

HTML is read with the standard library's ``html.parser``: visible text is all the model
needs, and it spares a dependency (BeautifulSoup would add nothing we use here).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar, Literal

from hanlin.agents.perception.errors import PerceptionError

DocumentKind = Literal["pdf", "docx", "html", "csv", "tsv", "text"]

SUPPORTED_DOCUMENTS = "PDF, DOCX, HTML, CSV, TSV, plain text (.txt, .md, .json, ...)"

_TEXT_SUFFIXES = {
    ".txt",
    ".md",
    ".markdown",
    ".json",
    ".jsonl",
    ".xml",
    ".yaml",
    ".yml",
    ".log",
    ".rst",
}
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_MEDIA_TYPES: dict[str, DocumentKind] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "text/plain": "text",
    "text/markdown": "text",
    "application/json": "text",
}


def detect_document_kind(
    data: bytes, name: str, media_type: str | None = None
) -> DocumentKind | None:
    """The document kind from magic bytes, then the declared media type, then the suffix."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx" if _is_docx_zip(data) else None
    suffix = Path(name).suffix.lower()
    head = data[:512].lstrip().lower()
    if suffix == ".pdf" or media_type == "application/pdf":
        return "pdf"  # claims to be a PDF but lacks the header: let the PDF reader say so
    if (
        suffix == ".docx"
        or media_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ):
        return "docx"
    if suffix in _HTML_SUFFIXES or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if suffix == ".tsv":
        return "tsv"
    if suffix == ".csv":
        return "csv"
    if suffix in _TEXT_SUFFIXES:
        return "text"
    if media_type in _MEDIA_TYPES:
        return _MEDIA_TYPES[media_type]
    return None


def document_to_text(data: bytes, name: str, kind: DocumentKind, *, max_table_rows: int) -> str:
    """Extract the readable text of one document; raises ``PerceptionError`` when it is corrupt."""
    if kind == "pdf":
        return pdf_to_text(data, name)
    if kind == "docx":
        return docx_to_text(data, name)
    if kind == "html":
        return html_to_text(_decode_text(data, name))
    if kind in ("csv", "tsv"):
        return table_to_markdown(_decode_text(data, name), name, kind, max_rows=max_table_rows)
    return _decode_text(data, name)


def pdf_to_text(data: bytes, name: str) -> str:
    _require("pypdf", "pypdf", name)
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PerceptionError(name, "the PDF is password-protected", SUPPORTED_DOCUMENTS)
        pages = [page.extract_text() or "" for page in reader.pages]
    except PerceptionError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise PerceptionError(
            name, f"not a readable PDF ({type(exc).__name__}: {exc})", SUPPORTED_DOCUMENTS
        ) from exc
    if not pages:
        raise PerceptionError(name, "the PDF has no pages", SUPPORTED_DOCUMENTS)
    chunks = [f"--- page {number} ---\n{text.strip()}" for number, text in enumerate(pages, 1)]
    if not any(text.strip() for text in pages):
        chunks.append("[no extractable text: the PDF may hold scanned images only]")
    return "\n".join(chunks)


def docx_to_text(data: bytes, name: str) -> str:
    """Paragraphs and tables in document order; tables as markdown rows."""
    _require("docx", "python-docx", name)
    import docx
    from docx.opc.exceptions import OpcError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                rows = [[cell.text.strip() for cell in row.cells] for row in block.rows]
                blocks.append(_markdown_rows(rows))
            elif block.text.strip():
                blocks.append(block.text)
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise PerceptionError(
            name, f"not a readable DOCX ({type(exc).__name__}: {exc})", SUPPORTED_DOCUMENTS
        ) from exc
    return "\n".join(blocks)


class _VisibleText(HTMLParser):
    """Collects text a browser would show; drops scripts, styles and markup."""

    _HIDDEN: ClassVar[set[str]] = {"script", "style", "noscript", "template", "head"}
    _BREAKS: ClassVar[set[str]] = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "section",
        "article",
        "title",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.hidden_depth = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._HIDDEN:
            self.hidden_depth += 1
        if tag in self._BREAKS:
            self.pieces.append("\n")
        if tag in ("td", "th"):
            self.pieces.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._HIDDEN and self.hidden_depth:
            self.hidden_depth -= 1
        if tag in self._BREAKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self.hidden_depth:
            self.pieces.append(data)


def html_to_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.pieces).splitlines())
    body = "\n".join(line for line in lines if line)
    title = " ".join(parser.title.split())
    return f"# {title}\n{body}" if title else body


def table_to_markdown(text: str, name: str, kind: DocumentKind, *, max_rows: int) -> str:
    """A compact markdown table: header plus up to ``max_rows`` rows, then a visible count of
    the rest."""
    if kind == "tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = [
            row
            for row in csv.reader(io.StringIO(text), delimiter=delimiter)
            if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise PerceptionError(
            name, f"malformed {kind.upper()} ({exc})", SUPPORTED_DOCUMENTS
        ) from exc
    if not rows:
        return "[empty table]"
    header, body = rows[0], rows[1:]
    shown = _markdown_rows([header, *body[:max_rows]])
    summary = f"[{len(body)} rows x {len(header)} columns]"
    if len(body) > max_rows:
        shown += f"\n[... {len(body) - max_rows} more rows not shown]"
    return f"{summary}\n{shown}"


def _markdown_rows(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    cells = [[_cell(c) for c in row] + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _cell(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")


def _decode_text(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise PerceptionError(name, "the file looks binary, not text", SUPPORTED_DOCUMENTS)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PerceptionError(name, "the text is neither UTF-8 nor GB18030", SUPPORTED_DOCUMENTS)


def _require(module: str, package: str, name: str) -> None:
    """Turn a missing optional dependency into a message that says what to install."""
    if importlib.util.find_spec(module) is None:
        raise PerceptionError(
            name, f"reading it needs the {package!r} package (pip install {package})"
        )


def _is_docx_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False
