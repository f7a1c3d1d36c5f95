"""index.xml follows the 2004 GDPdU DTD and declares exactly the dialect the CSV files use;
line breaks inside text survive the trip through one-line records."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from chatproof.domain.gdpdu import (
    DIALECT,
    Column,
    ColumnType,
    ForeignKey,
    Supplier,
    TableSpec,
    escape_text,
    format_date,
    index_xml,
    unescape_text,
)
from chatproof.services.gobd import tables as spec
from chatproof.services.gobd.validate import checking_dtd

PEOPLE = TableSpec(
    "people.csv",
    "people",
    "Leute & <Kunden>",
    (Column("id", ColumnType.NUMERIC, "Kennung"),),
    (
        Column("born", ColumnType.DATE, "Geburtstag"),
        Column("amount", ColumnType.NUMERIC, "Betrag", accuracy=2),
        Column("name", ColumnType.ALPHANUMERIC, "Name"),
    ),
    (ForeignKey("id", "other"),),
)


def build(*tables: TableSpec) -> bytes:
    return index_xml(
        Supplier("Muster & Söhne GmbH", "Köln", "Test"),
        "Archiv",
        tables,
        valid_from=datetime(2026, 1, 1),
        valid_to=datetime(2026, 12, 31),
    )


def test_the_index_of_every_export_table_is_valid_against_the_dtd() -> None:
    document = etree.fromstring(build(*spec.ALL))
    assert checking_dtd().validate(document), checking_dtd().error_log


def test_the_index_declares_the_dialect_and_the_columns() -> None:
    root = etree.fromstring(build(PEOPLE))
    table = root.find("Media/Table")
    assert table.findtext("URL") == "people.csv"
    assert table.find("UTF8") is not None
    assert table.findtext("DecimalSymbol") == DIALECT.decimal_symbol
    assert table.findtext("Range/From") == "2"
    assert table.findtext("Validity/Range/From") == "01.01.2026"
    layout = table.find("VariableLength")
    assert layout.findtext("ColumnDelimiter") == ";"
    assert layout.findtext("RecordDelimiter") == "\r\n"
    assert layout.findtext("VariablePrimaryKey/Name") == "id"
    columns = layout.findall("VariableColumn")
    assert [c.findtext("Name") for c in columns] == ["born", "amount", "name"]
    assert columns[0].findtext("Date/Format") == "DD.MM.YYYY"
    assert columns[1].findtext("Numeric/Accuracy") == "2"
    assert columns[2].find("AlphaNumeric") is not None
    assert layout.findtext("ForeignKey/References") == "other"
    assert table.findtext("Description") == "Leute & <Kunden>"


def test_dates_are_written_as_declared() -> None:
    assert format_date(datetime(2026, 3, 7)) == "07.03.2026"


@given(st.text())
def test_escaped_text_has_no_line_breaks_and_comes_back(text: str) -> None:
    escaped = escape_text(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert unescape_text(escaped) == text
