"""The GDPdU/GoBD description standard (``index.xml``) and the CSV dialect it declares, for the
tax auditor's data handover (Z3, § 147 (6) AO; DESIGN "Who uses it").

An auditor's analysis software reads nothing but what ``index.xml`` says: file, code page,
delimiters, decimal symbol, date format, and each column's name and type. The writer of the
CSV files and this description therefore share one ``Dialect`` and one ``TableSpec`` per file,
so the two cannot drift apart. Pure: the XML is returned as bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from xml.sax.saxutils import escape

DTD_FILE = "gdpdu-01-09-2004.dtd"
INDEX_FILE = "index.xml"


class ColumnType(StrEnum):
    ALPHANUMERIC = "AlphaNumeric"
    NUMERIC = "Numeric"
    DATE = "Date"


@dataclass(frozen=True)
class Dialect:
    """How every CSV file of an export is written, as declared in ``index.xml``."""

    column_delimiter: str = ";"
    record_delimiter: str = "\r\n"
    text_encapsulator: str = '"'
    decimal_symbol: str = ","
    digit_grouping_symbol: str = "."
    date_format: str = "DD.MM.YYYY"
    header_rows: int = 1


DIALECT = Dialect()


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    accuracy: int = 0
    """Digits after the decimal symbol (Numeric only)."""


@dataclass(frozen=True)
class ForeignKey:
    column: str
    references: str
    """The referenced table's ``name``; its primary key has the same type."""


@dataclass(frozen=True)
class TableSpec:
    url: str
    name: str
    description: str
    primary_key: Sequence[Column]
    columns: Sequence[Column]
    foreign_keys: Sequence[ForeignKey] = ()

    @property
    def header(self) -> list[str]:
        return [c.name for c in (*self.primary_key, *self.columns)]


@dataclass(frozen=True)
class Supplier:
    name: str
    location: str
    comment: str


def format_date(moment: datetime) -> str:
    """A date as ``DIALECT.date_format`` (DD.MM.YYYY) declares it."""
    return f"{moment.day:02d}.{moment.month:02d}.{moment.year:04d}"


def escape_text(value: str) -> str:
    """Line breaks inside a field become the visible sequences ``\\n`` and ``\\r`` (and a
    backslash becomes ``\\\\``), so one record is always one line: analysis software differs in
    how it reads quoted line breaks. The auditor README says how to turn them back."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\n" in value or "\r" in value:
        value = value.replace("\r", "\\r").replace("\n", "\\n")
    return value


def unescape_text(value: str) -> str:
    """The inverse of ``escape_text``."""
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        out.append({"n": "\n", "r": "\r", "\\": "\\"}.get(following, "\\" + following))
    return "".join(out)


def index_xml(
    supplier: Supplier,
    media_name: str,
    tables: Sequence[TableSpec],
    *,
    valid_from: datetime,
    valid_to: datetime,
    dialect: Dialect = DIALECT,
) -> bytes:
    """``index.xml`` for ``tables``, valid for the period ``valid_from``–``valid_to``
    (inclusive dates), referring to the official DTD beside it."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<!DOCTYPE DataSet SYSTEM "{DTD_FILE}">',
        "<DataSet>",
        "  <Version>1.0</Version>",
        "  <DataSupplier>",
        f"    <Name>{_x(supplier.name)}</Name>",
        f"    <Location>{_x(supplier.location)}</Location>",
        f"    <Comment>{_x(supplier.comment)}</Comment>",
        "  </DataSupplier>",
        "  <Media>",
        f"    <Name>{_x(media_name)}</Name>",
    ]
    for table in tables:
        out.extend(_table(table, dialect, valid_from, valid_to))
    out += ["  </Media>", "</DataSet>", ""]
    return "\n".join(out).encode("utf-8")


def _table(table: TableSpec, d: Dialect, valid_from: datetime, valid_to: datetime) -> list[str]:
    out = [
        "    <Table>",
        f"      <URL>{_x(table.url)}</URL>",
        f"      <Name>{_x(table.name)}</Name>",
        f"      <Description>{_x(table.description)}</Description>",
        "      <Validity>",
        "        <Range>",
        f"          <From>{format_date(valid_from)}</From>",
        f"          <To>{format_date(valid_to)}</To>",
        "        </Range>",
        f"        <Format>{_x(d.date_format)}</Format>",
        "      </Validity>",
        "      <UTF8/>",
        f"      <DecimalSymbol>{_x(d.decimal_symbol)}</DecimalSymbol>",
        f"      <DigitGroupingSymbol>{_x(d.digit_grouping_symbol)}</DigitGroupingSymbol>",
    ]
    if d.header_rows:
        out += ["      <Range>", f"        <From>{d.header_rows + 1}</From>", "      </Range>"]
    out += [
        "      <VariableLength>",
        f"        <ColumnDelimiter>{_x(d.column_delimiter)}</ColumnDelimiter>",
        f"        <RecordDelimiter>{_chars(d.record_delimiter)}</RecordDelimiter>",
        f"        <TextEncapsulator>{_x(d.text_encapsulator)}</TextEncapsulator>",
    ]
    for column in table.primary_key:
        out.extend(_column("VariablePrimaryKey", column, d))
    for column in table.columns:
        out.extend(_column("VariableColumn", column, d))
    for key in table.foreign_keys:
        out += [
            "        <ForeignKey>",
            f"          <Name>{_x(key.column)}</Name>",
            f"          <References>{_x(key.references)}</References>",
            "        </ForeignKey>",
        ]
    out += ["      </VariableLength>", "    </Table>"]
    return out


def _column(element: str, column: Column, d: Dialect) -> list[str]:
    out = [f"        <{element}>", f"          <Name>{_x(column.name)}</Name>"]
    out.append(f"          <Description>{_x(column.description)}</Description>")
    if column.type is ColumnType.NUMERIC:
        out.append(f"          <Numeric><Accuracy>{column.accuracy}</Accuracy></Numeric>")
    elif column.type is ColumnType.DATE:
        out.append(f"          <Date><Format>{_x(d.date_format)}</Format></Date>")
    else:
        out.append("          <AlphaNumeric/>")
    out.append(f"        </{element}>")
    return out


def _x(text: str) -> str:
    return escape(text)


def _chars(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)
