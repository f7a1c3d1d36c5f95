"""Checking ``index.xml`` against the official DTD before an export is handed over
(compliance research §2.4): libxml2 rejects the 2004 DTD's ``Media`` content model as not
deterministic, so validation uses the equivalent deterministic model; the export itself ships
the official file unchanged."""

from __future__ import annotations

from importlib.resources import files

from lxml import etree

from chatproof.domain.gdpdu import DTD_FILE
from chatproof.services.errors import ServiceError

_OFFICIAL_MEDIA = b"<!ELEMENT Media (Name, Command*, Table*, Command*, AcceptNoTables?)>"
_EQUIVALENT_MEDIA = b"<!ELEMENT Media (Name, Command*, (Table+, Command*)?, AcceptNoTables?)>"


class IndexInvalid(ServiceError):
    """index.xml does not follow the DTD; names the first problem."""


def official_dtd() -> bytes:
    """The unmodified gdpdu-01-09-2004.dtd (version 1.5) shipped with chatproof. Source: the
    GDPdU description standard as kept by opencore/gdpdu-java (commit 33ec2fe), a copy of the
    file the tax authorities' audit software vendor publishes."""
    return files("chatproof.services.gobd").joinpath(DTD_FILE).read_bytes()


def checking_dtd() -> etree.DTD:
    text = official_dtd()
    if _OFFICIAL_MEDIA not in text:
        raise IndexInvalid(f"{DTD_FILE}: the Media declaration is not the official one")
    return etree.DTD(_bytes_io(text.replace(_OFFICIAL_MEDIA, _EQUIVALENT_MEDIA)))


def validate_index(index: bytes) -> None:
    """Raises:
    IndexInvalid: not well-formed, or not valid against the DTD.
    """
    try:
        document = etree.fromstring(index, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise IndexInvalid(f"index.xml is not well-formed: {exc}") from None
    dtd = checking_dtd()
    if not dtd.validate(document):
        raise IndexInvalid(
            f"index.xml does not follow {DTD_FILE}: {dtd.error_log.filter_from_errors()[0]}"
        )


def _bytes_io(data: bytes) -> object:
    import io

    return io.BytesIO(data)
