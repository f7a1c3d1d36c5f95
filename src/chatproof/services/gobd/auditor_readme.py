"""The README an auditor reads first: what the export holds, which classes are tax-relevant
and why, how to read the CSV files, and how to check the export without trusting chatproof."""

from __future__ import annotations

from collections.abc import Sequence

from chatproof.domain.gdpdu import DTD_FILE
from chatproof.domain.processing import SystemFacts
from chatproof.services.gobd.summary import ExportSummary
from chatproof.store.procedures import ProcedureVersion


def auditor_readme(
    facts: SystemFacts, summary: ExportSummary, versions: Sequence[ProcedureVersion]
) -> str:
    org = facts.organisation.name or "(organisation.name not configured)"
    classes = "\n".join(
        f"| {r.name} | {r.period('en')} | {'yes' if r.tax_relevant else 'no'} | {r.legal_basis} |"
        for r in facts.retention
    )
    procedure = "\n".join(
        f"- `verfahrensdokumentation_{v.valid_from:%Y%m%dT%H%M%S}Z.md`: in force from "
        f"{v.valid_from:%Y-%m-%d %H:%M} UTC (SHA-256 {v.sha256}, log entry {v.log_index})"
        for v in versions
    )
    if summary.first_entry is None:
        entries = "The period holds no exported rows; `log_entries.csv` is empty."
    else:
        entries = (
            f"Log entries {summary.first_entry} to {summary.end_entry - 1} "  # type: ignore[operator]
            f"(of a signed tree of {summary.tree_size})."
        )
    return f"""# WhatsApp archive of {org}: data handover (GoBD Z3, § 147 (6) AO)

Period: {summary.start} to {summary.end} (whole days, time zone {facts.timezone}).
Written by chatproof {facts.software_version}.

| file | contents | rows |
|---|---|---|
| `index.xml` | description of every table (GDPdU description standard) | |
| `{DTD_FILE}` | the official DTD, version 1.5, unchanged | |
| `contacts.csv` | contacts with messages or consents in the period | {summary.contacts} |
| `messages.csv` | messages of tax-relevant classes | {summary.messages} |
| `statuses.csv` | delivery statuses | {summary.statuses} |
| `consent_events.csv` | consents and withdrawals with proof | {summary.consent_events} |
| `media.csv`, `media/` | attachments, named by SHA-256 | {summary.media_files} files |
| `log_entries.csv` | every log entry in the export's range: number, kind, leaf hash | |
| `proof/range_proof.json` | signed tree head and boundary subtree hashes | |
| `verfahrensdokumentation_*.md` | procedure in force in the period | {len(versions)} |
| `check_export.py` | checks all of this with Python's standard library only | |
| `MANIFEST.sha256` | SHA-256 of every file (`sha256sum -c MANIFEST.sha256`) | |

{summary.not_tax_relevant} messages of the period belong to classes without a tax retention duty
and are not part of this handover; {summary.erased} messages had reached the end of their
retention period and were erased (their rows remain, with `erased_on`);
{summary.media_missing} attachments were not available (listed in `media.csv` with state).

## Which data is tax-relevant

GoBD data access covers tax-relevant data only. A retention class is tax-relevant when its legal
basis is tax or commercial law (§ 147 AO, § 257 HGB, § 14b UStG): business letters (6 years),
booking vouchers (8 years), books and records (10 years) and any configured class whose legal basis
cites those laws. Content kept only under the GDPR's storage limitation (`no_duty`) is not.
Exported here: {", ".join(summary.tax_relevant_classes) or "none"}.

| class | period | tax-relevant | legal basis |
|---|---|---|---|
{classes}

Consent events are included because they document that the marketing messages in this export
were lawful (§ 7 UWG); contacts are the master data the messages refer to.

## Reading the CSV files

As `index.xml` declares: UTF-8, columns separated by `;`, records by CR LF, text in `"` (a `"`
inside is doubled), one header line (data from line 2), dates `DD.MM.YYYY` in the business's
time zone, times `hh:mm:ss`, exact times also as ISO 8601 UTC, numbers without digit grouping.
Line breaks inside a text are written as the two characters `\\n` (and `\\r`), a backslash as
`\\\\`, so every record is one line. Keys: `messages.contact_id` → `contacts`,
`statuses.message_id` and `media.message_id` → `messages`, `consent_events.contact_id` →
`contacts`.

## Checking the export without trusting chatproof

chatproof's archive is an append-only Merkle log (RFC 9162). Every row of `messages.csv`,
`statuses.csv` and `consent_events.csv` names its log entry (`log_index`) and that entry's leaf
hash. {entries} `log_entries.csv` lists the leaf hash of every entry in that range, in order,
including entries of other kinds that are not exported (access records, policy decisions).

    python3 check_export.py .

1. checks every file against `MANIFEST.sha256`;
2. recomputes the root hash of the signed tree head in `proof/range_proof.json` from the leaf
   hashes of the range and the `boundary_hashes`: walk the tree as RFC 9162 §2.1.1 defines MTH
   (split n leaves at the largest power of two k < n); a subtree wholly inside the range is
   computed from its leaf hashes, one wholly outside it is the next boundary hash, any other is
   split; node = SHA-256(0x01 ‖ left ‖ right);
3. checks that each row's `leaf_hash` is the one at its `log_index`;
4. verifies the Ed25519 signature of the tree head over the 50-byte RFC 6962 §3.5 structure
   (version 0, type 1, timestamp and tree size as big-endian uint64, root hash), if the Python
   package `cryptography` is installed. Without it, the same check with OpenSSL 3:
   build those 50 bytes, base64-decode `signature` and `public_key`, and run
   `openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in head.bin -sigfile head.sig`.

Compare the signed tree head with one held by a witness or earlier given to you: the same
size must have the same root. The leaf of an entry holds the row's content only encrypted; that
the plaintext in a row matches its sealed entry is checked inside the system
(`chatproof verify --deep`, Z1).

## Procedure documentation

{procedure or "- (none recorded)"}
"""
