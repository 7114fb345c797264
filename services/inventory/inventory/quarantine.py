"""The rejected-rows file of a feed: `inventory-quarantine/<blob name>.rejected.csv`.

Columns: `line,reason,row` where `row` is the rejected row as read (CSV fields joined by commas,
or the JSON line). Suppliers open this file in a spreadsheet, so every cell that a spreadsheet
would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is written
with a leading apostrophe (OWASP's CSV injection advice); `read_rejections` gives the cells back
as written.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO

from .feeds import RejectedRow

QUARANTINE_CONTAINER = "inventory-quarantine"
HEADER = ("line", "reason", "row")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SPOOL_IN_MEMORY = 1024 * 1024


def neutralise(cell: str) -> str:
    """`cell`, made inert for spreadsheets: prefixed with `'` if it starts like a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def quarantine_name(blob_name: str) -> str:
    """The rejected-rows blob of the feed `blob_name` (in `inventory-quarantine`)."""
    return f"{blob_name}.rejected.csv"


def _row_text(raw: tuple[str, ...]) -> str:
    if len(raw) == 1:
        return raw[0]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(raw)
    return buffer.getvalue()


class RejectionSpool:
    """Collects rejected rows in a temporary file (in memory up to 1 MiB, then on disk)."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._writer.writerow(HEADER)
        self.count = 0

    def add(self, row: RejectedRow) -> None:
        self._writer.writerow([str(row.line), neutralise(row.reason), neutralise(_row_text(row.raw))])
        self.count += 1

    def contents(self) -> BinaryIO:
        """The CSV file from its start, to hand to `BlobStore.put`."""
        self._text.flush()
        self._file.seek(0)
        return self._file  # type: ignore[return-value]

    def close(self) -> None:
        self._text.close()


@dataclass(frozen=True)
class RejectionRecord:
    """One row of a rejected-rows file, as written (cells still neutralised)."""

    line: int
    reason: str
    row: str


def read_rejections(stream: BinaryIO) -> Iterator[RejectionRecord]:
    """The records of a rejected-rows file, streamed. Raises `ValueError` if it is not one."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None or tuple(header) != HEADER:
        raise ValueError(f"not a rejected-rows file: header is {header!r}, expected {HEADER!r}")
    for record in reader:
        if len(record) != len(HEADER) or not record[0].isdigit():
            raise ValueError(f"rejected-rows file line {reader.line_num} is malformed: {record!r}")
        yield RejectionRecord(int(record[0]), record[1], record[2])
