"""What the system really does with personal data and business records, as facts read from
the configuration and the running system, for the documents the DPO and the tax auditor are
given: the record of processing (Art. 30 GDPR) and the procedure documentation (GoBD
Rz. 151 ff.). Both are generated from these facts only, so a changed setting changes them.

Also the shared shape of those documents (sections of paragraphs and key/value rows), which
the Markdown, HTML and PDF renderers read. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

LANGUAGES = ("de", "en")
_TAX_LAW = re.compile(r"\b(AO|HGB|UStG)\b")


def tax_relevant(legal_basis: str) -> bool:
    """A retention class is tax-relevant when its legal basis is tax or commercial law (§ 147
    AO, § 257 HGB, § 14b UStG): GoBD data access (§ 147 (6) AO) covers exactly that data."""
    return bool(_TAX_LAW.search(legal_basis))


@dataclass(frozen=True)
class Organisation:
    name: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    representative: str = ""
    dpo_name: str = ""
    dpo_email: str = ""
    dpo_phone: str = ""


@dataclass(frozen=True)
class RetentionFact:
    name: str
    years: int
    months: int
    counted_from: str
    legal_basis: str

    @property
    def tax_relevant(self) -> bool:
        return tax_relevant(self.legal_basis)

    def period(self, language: str) -> str:
        parts = []
        if self.years:
            parts.append(f"{self.years} {'Jahre' if language == 'de' else 'years'}")
        if self.months:
            parts.append(f"{self.months} {'Monate' if language == 'de' else 'months'}")
        start = {
            ("de", "end_of_calendar_year"): "ab Ende des Kalenderjahres",
            ("de", "conversation_end"): "ab Ende des Gesprächs",
            ("en", "end_of_calendar_year"): "from the end of the calendar year",
            ("en", "conversation_end"): "from the end of the conversation",
        }[language, self.counted_from]
        return f"{' '.join(parts)} {start}"


@dataclass(frozen=True)
class SystemFacts:
    """Settings in force, as the documents state them. No secrets, no personal data of
    customers."""

    organisation: Organisation
    provider: str
    bsp_name: str
    database_backend: str
    timezone: str
    default_retention_class: str
    retention: tuple[RetentionFact, ...]
    head_every_entries: int
    head_every_seconds: float
    witnesses: tuple[str, ...]
    master_key_version: int
    roles: tuple[str, ...]
    totp_roles: tuple[str, ...]
    backup: str
    privacy_notice: bool
    opt_in_text_version: str
    media_max_bytes: int
    software_version: str
    language: str = "de"

    def tax_relevant_classes(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.retention if r.tax_relevant)


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    rows: tuple[tuple[str, str], ...] = ()
    bullets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    language: str = "de"


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", "", doc.subtitle, ""]
    for section in doc.sections:
        out += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            out += [paragraph, ""]
        if section.rows:
            out += ["| | |", "|---|---|"]
            out += [f"| {_cell(k)} | {_cell(v)} |" for k, v in section.rows]
            out.append("")
        if section.bullets:
            out += [f"- {b}" for b in section.bullets]
            out.append("")
    return "\n".join(out)


def to_html(doc: Document) -> str:
    """A self-contained, printable page."""
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{doc.language}"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)}</title>",
        "<style>body{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;width:100%}td{border:1px solid #999;padding:.3em;"
        "vertical-align:top}td:first-child{width:30%;font-weight:bold}"
        "@media print{body{margin:0}}</style></head><body>",
        f"<h1>{escape(doc.title)}</h1>",
        f"<p>{escape(doc.subtitle)}</p>",
    ]
    for section in doc.sections:
        out.append(f"<h2>{escape(section.heading)}</h2>")
        out += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
        if section.rows:
            out.append("<table>")
            out += [f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in section.rows]
            out.append("</table>")
        if section.bullets:
            out.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in section.bullets))
            out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
