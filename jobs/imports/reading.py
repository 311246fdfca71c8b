"""How a file is read: its encoding, its delimiter and its headings, found before any row.

Real exports come as UTF-8 with or without a byte-order mark, or as Windows-1252/Latin-1
(from older spreadsheet programs), separated by commas, semicolons or tabs, with quoted
fields that may hold delimiters and newlines. UTF-16 and binary files are refused with a
clear message.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jobs.errors import InvalidInput

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileFormat:
    encoding: str
    delimiter: str
    headings: list[str]

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS[self.delimiter]


def failed(reason: str) -> InvalidInput:
    return InvalidInput(f"File import has failed: {reason}", field="file")


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (with a BOM), ``utf-8``, or ``cp1252``/``latin-1`` when the bytes are
    not UTF-8; the whole file is checked, block by block, in constant memory.

    Raises:
      InvalidInput: for UTF-16/32 files and files with NUL bytes (not text).
    """
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or head.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        ):
            raise failed(
                "the file is UTF-16 or UTF-32 text; save it as CSV in UTF-8 (or Windows-1252)"
            )
        bom = head.startswith(codecs.BOM_UTF8)
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8 = True
        cp1252 = True
        while block := f.read(_BLOCK):
            if b"\x00" in block:
                raise failed("the file has NUL bytes: it is not a text (CSV) file")
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and cp1252:
                # Five byte values have no character in Windows-1252; Latin-1 reads them.
                cp1252 = not any(b in block for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return "utf-8-sig" if bom else "utf-8"
    return "cp1252" if cp1252 else "latin-1"


def sniff(path: Path) -> FileFormat:
    """The file's encoding, delimiter (the one of , ; tab that splits the heading line
    most) and headings.

    Raises:
      InvalidInput: "File import has failed: …" for an empty file, a file whose first line
        has no delimiter it knows, or an encoding it cannot read.
    """
    if path.stat().st_size == 0:
        raise failed("the file is empty; the first row must hold the column headings")
    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as f:
        first = f.readline()
        # A quoted heading may span lines: read on until the quotes are balanced.
        while first.count('"') % 2 and (more := f.readline()):
            first += more
    counts = {d: first.count(d) for d in DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d])
    if not first.strip():
        raise failed("the first row is empty; it must hold the column headings")
    if counts[delimiter] == 0:
        delimiter = ","  # one column only; the heading check says what is missing
    headings = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    return FileFormat(encoding=encoding, delimiter=delimiter, headings=headings)


def read_chunks(path: Path, fmt: FileFormat, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file's rows below the headings, as text, ``chunk_rows`` at a time (pandas' C
    parser; memory stays flat whatever the file's size). Blank lines are skipped.

    Raises:
      InvalidInput: for a row pandas cannot parse (more fields than headings, an unclosed
        quote), naming the row.
    """
    try:
        reader = pd.read_csv(
            path,
            sep=fmt.delimiter,
            encoding=fmt.encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            header=0,
            names=None,
            chunksize=chunk_rows,
            engine="c",
            skip_blank_lines=True,
            quotechar='"',
            doublequote=True,
        )
        with reader:
            yield from reader
    except pd.errors.ParserError as error:
        raise failed(f"the file cannot be read as CSV ({_first_line(error)})") from error
    except UnicodeDecodeError as error:
        raise failed(f"the file is not {fmt.encoding} text ({error.reason})") from error


def count_lines(path: Path) -> int:
    """The number of lines below the heading (quoted newlines count too: an estimate)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
