"""CSV files as imports read them: encoding, delimiter, checksum, header, a preview, then the rows.

A file is read twice.  ``inspect_csv`` goes through it all first — checksum,
decoding, CSV syntax, row count — so a file that is not text in the expected
encoding, or not CSV, is refused before a single record is written.  Only then
does ``read_rows`` hand out the rows.

Row numbers are those a spreadsheet shows: the header is row 1, the first data
row is row 2, and a cell spanning several lines is still one row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from xrm.errors import XrmError

#: A field may hold up to this many characters (csv's default, 128 KiB, would refuse long descriptions).
MAX_FIELD_CHARS = 8 * 1024 * 1024
#: Delimiters told apart in the header line; the most frequent wins (Excel writes ';' in much of Europe).
DELIMITERS = (",", ";", "\t", "|")
PREVIEW_ROWS = 5
#: What people may choose; "auto" is UTF-8 (a BOM is skipped) or UTF-16 when the file starts with its BOM.
ENCODINGS = {"auto": "Detect (UTF-8, UTF-16)", "utf-8": "UTF-8", "cp1252": "Windows-1252 (Excel)",
             "latin-1": "Latin-1 (ISO-8859-1)"}

Opener = Callable[[], BinaryIO]


class CsvFileError(XrmError):
    """The file as a whole cannot be imported (encoding, CSV syntax, no header); nothing was written."""


@dataclass(frozen=True)
class CsvShape:
    """What ``inspect_csv`` found: enough to map the columns and to read the rows again."""

    checksum: str
    encoding: str
    delimiter: str
    header: tuple[str, ...]
    rows: int
    preview: tuple[tuple[str, ...], ...]


def _codec(head: bytes, encoding: str) -> str:
    if encoding not in ("auto", "utf-8", "utf8"):
        try:
            return codecs.lookup(encoding).name
        except LookupError:
            raise CsvFileError(f"unknown encoding '{encoding}' (try utf-8, cp1252 or latin-1)") from None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"  # plain UTF-8, and a byte-order mark is skipped rather than glued to the first header


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _reader(text: io.TextIOBase, delimiter: str) -> Iterator[list[str]]:
    csv.field_size_limit(MAX_FIELD_CHARS)
    return csv.reader(text, delimiter=delimiter, strict=True)


def inspect_csv(open_file: Opener, *, encoding: str = "auto", delimiter: str | None = None) -> CsvShape:
    """Read the whole file once: checksum, decoding and CSV syntax checked, data rows counted."""
    digest = hashlib.sha256()
    with open_file() as raw:
        head = raw.read(1 << 16)
        raw.seek(0)
        codec = _codec(head, encoding)
        lines = head.decode(codec, errors="replace").splitlines()
        chosen = delimiter or _delimiter(lines[0] if lines else "")
        text = io.TextIOWrapper(_Hashing(raw, digest), encoding=codec, errors="strict", newline="")
        rows = 0
        header: list[str] | None = None
        preview: list[tuple[str, ...]] = []
        reader = None
        try:
            reader = _reader(text, chosen)
            for cells in reader:
                if header is None:
                    header = [c.strip() for c in cells]
                    continue
                if not any(c.strip() for c in cells):
                    continue
                rows += 1
                if len(preview) < PREVIEW_ROWS:
                    preview.append(tuple(cells))
            while text.read(1 << 16):  # the checksum covers every byte, also after the last row
                pass
        except UnicodeDecodeError:
            raise CsvFileError(_decode_message(open_file, codec)) from None
        except csv.Error as error:
            line = reader.line_num if reader is not None else 1
            message = str(error)
            if "field larger" in message:
                message = f"a cell is longer than {MAX_FIELD_CHARS // (1024 * 1024)} MiB"
            raise CsvFileError(f"line {line}: the file is not valid CSV: {message}") from None
    if header is None or not any(header):
        raise CsvFileError("the file is empty: the first row must name the columns")
    return CsvShape(digest.hexdigest(), codec, chosen, tuple(header), rows, tuple(preview))


def _decode_message(open_file: Opener, codec: str) -> str:
    """Where the first byte that does not decode is: its value and line (the decoder read ahead of the rows)."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    line, byte = 1, "?"
    with open_file() as raw:
        while chunk := raw.read(1 << 16):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                byte = chunk[error.start:error.start + 1].hex().upper()
                line += chunk[:error.start].count(b"\n")
                break
            line += chunk.count(b"\n")
    shown = {"utf-8-sig": "UTF-8"}.get(codec, codec)
    advice = ("save it as UTF-8 (\"CSV UTF-8\" in Excel), or name its encoding: cp1252 for Excel on Windows, "
              "latin-1 for ISO-8859-1") if codec == "utf-8-sig" else "check the encoding you named"
    return f"the file is not {shown} text: byte 0x{byte} on line {line} cannot be read; {advice}. Nothing was imported."


def read_rows(open_file: Opener, shape: CsvShape) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of each data row (blank rows skipped, still counted)."""
    with open_file() as raw:
        text = io.TextIOWrapper(raw, encoding=shape.encoding, errors="strict", newline="")
        for number, cells in enumerate(_reader(text, shape.delimiter), start=1):
            if number == 1 or not any(c.strip() for c in cells):
                continue
            yield number, cells


def bytes_opener(data: bytes) -> Opener:
    return lambda: io.BytesIO(data)


def path_opener(path: str) -> Opener:
    return lambda: open(path, "rb")  # noqa: SIM115 - the caller closes it


class _Hashing(io.RawIOBase):
    """A binary file that feeds every byte read into ``digest``."""

    def __init__(self, raw: BinaryIO, digest: hashlib._Hash) -> None:
        self.raw, self.digest = raw, digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)
