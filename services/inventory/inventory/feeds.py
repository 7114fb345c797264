"""Streaming parser of supplier stock feeds: CSV with a header, or JSON Lines, optionally gzipped.

A feed is read once, front to back, in bounded memory: bytes are counted as they arrive (the
upload size limit), gzip output is counted against both an absolute limit and a ratio to the
compressed bytes read so far (a decompression bomb is stopped after at most `max_ratio` times the
compressed input, never expanded in full), and no line may exceed `max_line_bytes`.

`read_feed` yields a `FeedRow` for every valid row and a `RejectedRow` (line number and reason)
for every row that fails validation. It raises `FeedUnreadable` when the file cannot be read as a
feed at all (unknown format, bad gzip, not UTF-8, broken CSV quoting, a limit passed) and
`BadHeader` when a CSV header lacks a required column; in both cases the caller must apply
nothing, so callers validate the whole file before applying any row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, Literal

from contracts.api import is_sku
from eventkit.blobs import InvalidBlobName
from eventkit.blobs.names import validate_blob_name

REQUIRED_COLUMNS: tuple[str, ...] = ("sku", "warehouse", "on_hand", "unit_cost")
WAREHOUSE_PATTERN = re.compile(r"^[A-Z]{2,4}-?[A-Z0-9]{1,8}$")
SUPPLIER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_ON_HAND = 1_000_000_000
FeedFormat = Literal["csv", "json"]


class FeedError(Exception):
    """Base: the whole feed is refused. `reason` is the contract's rejection reason."""

    reason: str = "unreadable"


class FeedUnreadable(FeedError):
    """The file cannot be read as a feed (format, encoding, compression, size, broken quoting)."""


class BadHeader(FeedError):
    """The CSV header is missing, lacks a required column, or names a column twice."""

    reason = "bad-header"


class FeedNameInvalid(FeedError):
    """The blob name is not `<supplier-id>/<file>.(csv|jsonl)[.gz]`."""

    reason = "unknown-supplier"


@dataclass(frozen=True)
class FeedLimits:
    """Bounds on one feed. Defaults suit nightly files of a few million rows."""

    max_bytes: int = 512 * 1024 * 1024
    max_decompressed_bytes: int = 4 * 1024 * 1024 * 1024
    max_ratio: int = 100
    ratio_floor_bytes: int = 1024 * 1024
    max_line_bytes: int = 64 * 1024


@dataclass(frozen=True)
class FeedName:
    """What a blob name says: the supplier, and the file's format and compression."""

    blob_name: str
    supplier_id: str
    file_name: str
    format: FeedFormat
    gzipped: bool


@dataclass(frozen=True)
class FeedRow:
    """A valid row: the supplier's count of one SKU at one warehouse."""

    line: int
    sku: str
    warehouse: str
    on_hand: int
    unit_cost_minor: int
    currency: str


@dataclass(frozen=True)
class RejectedRow:
    """A row that failed validation; `raw` is the row as read (fields, or the JSON line)."""

    line: int
    reason: str
    raw: tuple[str, ...]


def parse_feed_name(blob_name: str) -> FeedName:
    """Split `<supplier-id>/<file>` (the name inside `inventory-uploads`). Raises `FeedNameInvalid`
    for names that could escape the container, a supplier id outside `[a-z0-9-]`, nested folders,
    or an extension other than .csv / .jsonl / .ndjson with optional .gz."""
    try:
        validate_blob_name(blob_name)
    except InvalidBlobName as exc:
        raise FeedNameInvalid(f"blob name {blob_name!r} is not a valid feed name: {exc}") from exc
    parts = blob_name.split("/")
    if len(parts) != 2:
        raise FeedNameInvalid(f"blob name {blob_name!r} must be '<supplier-id>/<file>', one folder deep")
    supplier_id, file_name = parts
    if not SUPPLIER_PATTERN.fullmatch(supplier_id):
        raise FeedNameInvalid(f"supplier id {supplier_id!r} must be lowercase letters, digits and '-'")
    lowered = file_name.lower()
    gzipped = lowered.endswith(".gz")
    stem = lowered[:-3] if gzipped else lowered
    if stem.endswith(".csv"):
        format_: FeedFormat = "csv"
    elif stem.endswith((".jsonl", ".ndjson")):
        format_ = "json"
    else:
        raise FeedUnreadable(f"file {file_name!r} is not .csv, .jsonl or .ndjson (optionally .gz)")
    return FeedName(blob_name, supplier_id, file_name, format_, gzipped)


class _CountingReader(io.RawIOBase):
    """Counts bytes read from the upload; raises `FeedUnreadable` past `limit`."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source, self._limit, self.count = source, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._source.read(len(buffer))
        self.count += len(chunk)
        if self.count > self._limit:
            raise FeedUnreadable(f"the file is larger than the limit of {self._limit} bytes")
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _InflateGuard(io.RawIOBase):
    """Reads gzip output and stops a decompression bomb before it is expanded."""

    def __init__(self, source: _CountingReader, limits: FeedLimits) -> None:
        self._compressed = source
        self._gzip = gzip.GzipFile(fileobj=source, mode="rb")
        self._limits, self.count = limits, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            chunk = self._gzip.read(min(len(buffer), 64 * 1024))
        except (OSError, EOFError, zlib.error) as exc:
            raise FeedUnreadable(f"the file is not valid gzip: {exc}") from exc
        self.count += len(chunk)
        limits = self._limits
        if self.count > limits.max_decompressed_bytes:
            raise FeedUnreadable(f"decompressed content exceeds {limits.max_decompressed_bytes} bytes")
        if self.count > limits.ratio_floor_bytes and self.count > limits.max_ratio * max(
            self._compressed.count, 1
        ):
            raise FeedUnreadable(
                f"decompression ratio above {limits.max_ratio}:1 (a decompression bomb?); refused"
            )
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _lines(stream: BinaryIO, name: FeedName, limits: FeedLimits) -> Iterator[str]:
    """Decoded lines (with their line endings), each at most `max_line_bytes`."""
    counted = _CountingReader(stream, limits.max_bytes)
    raw: io.RawIOBase = _InflateGuard(counted, limits) if name.gzipped else counted
    buffered = io.BufferedReader(raw, buffer_size=64 * 1024)
    number = 0
    first = True
    while True:
        line = buffered.readline(limits.max_line_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > limits.max_line_bytes:
            raise FeedUnreadable(f"line {number} is longer than {limits.max_line_bytes} bytes")
        if b"\x00" in line:
            raise FeedUnreadable(f"line {number} contains a NUL byte: not a text feed")
        if first and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        first = False
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FeedUnreadable(
                f"line {number} is not UTF-8 text: {exc.reason} at byte {exc.start}"
            ) from exc


def read_feed(
    stream: BinaryIO, name: FeedName, *, limits: FeedLimits | None = None, default_currency: str = "EUR"
) -> Iterator[FeedRow | RejectedRow]:
    """Every row of the feed, valid or rejected, in file order (see the module docstring).

    Raises `FeedUnreadable` or `BadHeader` (possibly after yielding rows: validate the whole
    file before applying anything)."""
    lines = _lines(stream, name, limits or FeedLimits())
    if name.format == "csv":
        yield from _read_csv(lines, default_currency)
    else:
        yield from _read_jsonl(lines, default_currency)


def _read_csv(lines: Iterator[str], default_currency: str) -> Iterator[FeedRow | RejectedRow]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise BadHeader("the file is empty: a CSV feed starts with a header line")
        columns = [column.strip().lower() for column in header]
        duplicated = sorted({c for c in columns if columns.count(c) > 1 and c})
        if duplicated:
            raise BadHeader(f"the header names column(s) {', '.join(duplicated)} more than once")
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise BadHeader(
                f"the header lacks column(s) {', '.join(missing)}; "
                f"it must contain {','.join(REQUIRED_COLUMNS)}"
            )
        index = {c: columns.index(c) for c in (*REQUIRED_COLUMNS, "currency") if c in columns}
        last_line = reader.line_num
        for record in reader:
            line, last_line = last_line + 1, reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            fields = {c: record[i] if i < len(record) else None for c, i in index.items()}
            yield _validate(line, fields, tuple(record), default_currency)
    except csv.Error as exc:
        raise FeedUnreadable(f"broken CSV at line {reader.line_num}: {exc}") from exc


def _read_jsonl(lines: Iterator[str], default_currency: str) -> Iterator[FeedRow | RejectedRow]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        raw = (text.rstrip("\r\n"),)
        try:
            value = json.loads(text)
        except ValueError as exc:
            yield RejectedRow(number, f"not valid JSON: {exc.args[0] if exc.args else exc}", raw)
            continue
        if not isinstance(value, dict):
            yield RejectedRow(number, "not a JSON object", raw)
            continue
        fields = {c: value.get(c) for c in (*REQUIRED_COLUMNS, "currency")}
        yield _validate(number, fields, raw, default_currency)


def _validate(
    line: int, fields: Mapping[str, object], raw: tuple[str, ...], default_currency: str
) -> FeedRow | RejectedRow:
    for column in REQUIRED_COLUMNS:
        value = fields.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            return RejectedRow(line, f"missing field {column}", raw)
    sku = _text(fields["sku"])
    if sku is None or not is_sku(sku):
        return RejectedRow(line, f"bad sku {fields['sku']!r}: letters, digits and ._/- only, at most 64", raw)
    warehouse = _text(fields["warehouse"])
    if warehouse is None or not WAREHOUSE_PATTERN.fullmatch(warehouse):
        return RejectedRow(
            line, f"unknown warehouse format {fields['warehouse']!r} (expected e.g. DE-BER1)", raw
        )
    on_hand = _count(fields["on_hand"])
    if isinstance(on_hand, str):
        return RejectedRow(line, on_hand, raw)
    cost = _minor_units(fields["unit_cost"])
    if isinstance(cost, str):
        return RejectedRow(line, cost, raw)
    currency_value = fields.get("currency")
    currency = _text(currency_value) if currency_value not in (None, "") else default_currency
    if currency is None or not CURRENCY_PATTERN.fullmatch(currency):
        return RejectedRow(line, f"bad currency {currency_value!r}: three capital letters (ISO 4217)", raw)
    return FeedRow(line, sku, warehouse, on_hand, cost, currency)


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _count(value: object) -> int | str:
    """The on-hand count, or the reason it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return f"bad number in on_hand: {value!r} is not a whole number"
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text):
        return f"bad number in on_hand: {value!r} is not a whole number"
    count = int(text)
    if count < 0:
        return f"negative count in on_hand: {count}"
    if count > MAX_ON_HAND:
        return f"on_hand {count} is above the limit of {MAX_ON_HAND}"
    return count


def _minor_units(value: object) -> int | str:
    """The unit cost in minor units (two decimals), or the reason it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"bad number in unit_cost: {value!r}"
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,2})?", text):
        return f"bad number in unit_cost: {value!r} (a non-negative amount with at most 2 decimals)"
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return f"bad number in unit_cost: {value!r}"
