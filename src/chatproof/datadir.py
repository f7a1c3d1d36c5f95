"""``chatproof init``: a data directory with a commented configuration and fresh secrets.

The configuration file holds secrets, so it is created readable by its owner only, as are
the key files.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from chatproof.archive.keyfiles import create_keys
from chatproof.config import (
    CONFIG_FILE,
    DEFAULT_EMULATOR_PORT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PORT,
    ConfigError,
)

EMULATOR_PHONE_NUMBER_ID = "106540352242922"
EMULATOR_WABA_ID = "102290129340398"

TEMPLATE = """\
# chatproof configuration. Every setting can be overridden by an environment variable
# CHATPROOF_<SECTION>_<KEY>, e.g. CHATPROOF_WHATSAPP_ACCESS_TOKEN or CHATPROOF_DATABASE_URL.
# This file holds secrets: keep it readable by the chatproof user only.

[server]
host = "127.0.0.1"
port = {port}
# Webhook bodies above this size are refused with 413.
max_body_bytes = {max_body}
# Bearer token for the JSON API (Authorization: Bearer <token>).
api_token = "{api_token}"
# "process": media downloads, tree heads, the search index, reactions and the outbox run in a
# worker process that serve starts (webhooks are acknowledged twice as fast); "inline": in the
# server's own process.
background = "process"

[database]
# Empty: SQLite in this directory. For PostgreSQL:
# url = "postgresql+psycopg://chatproof@db.example.internal/chatproof"
url = ""

[whatsapp]
# "meta" for the Cloud API at graph.facebook.com (or the bundled emulator),
# "360dialog" for a 360dialog-style provider (D360-API-KEY header, no phone number id in paths).
provider = "meta"
# The emulator below; for Meta use "https://graph.facebook.com",
# for 360dialog "https://waba-v2.360dialog.io".
base_url = "http://127.0.0.1:{emulator_port}"
api_version = "v23.0"
# Meta: the business phone number's id and a system-user access token.
phone_number_id = "{phone_number_id}"
access_token = "{access_token}"
# 360dialog: the channel's API key.
api_key = ""
# Typed into the Meta App Dashboard when subscribing the webhook.
verify_token = "{verify_token}"
# Meta signs every webhook with the app secret. This one was generated for the emulator:
# replace it with your Meta app's secret in production.
app_secret = "{app_secret}"
# 360dialog-style setups: a secret header configured with the webhook instead of a signature.
secret_header_name = ""
secret_header_value = ""

[media]
# Inbound media downloads retry with exponential backoff, then give up (visible per message).
max_attempts = 8
retry_base_seconds = 2.0

[archive]
# The Ed25519 key that signs tree heads; may live outside the data directory.
signing_key_path = ""
# A signed tree head at least every N entries or T seconds.
head_every_entries = 1000
head_every_seconds = 60.0
# Retention years are counted in the business's time zone.
timezone = "Europe/Berlin"
# The class new content gets until someone reclassifies it (`chatproof reclassify`).
default_retention_class = "business_letter"

# Retention classes. Built in, counted from the end of the calendar year: business_letter
# (6 years), booking_voucher (8), books_and_records (10); and no_duty, kept only for some
# months after the conversation ends (GDPR storage limitation). Change a period, or add a
# class with every field:
# [archive.retention.no_duty]
# months = 6
# [archive.retention.contract]
# years = 10
# counted_from = "end_of_calendar_year"   # or "conversation_end"
# legal_basis = "§ 147 (1) Nr. 5 AO: other documents relevant to taxation"

# Witnesses keep every signed tree head where the operator cannot rewrite it. Configure at
# least one; chatproof warns while there is none. Examples:
# [[archive.witness]]
# kind = "file"                      # an append-only file on another mount
# path = "/mnt/witness/chatproof-heads.jsonl"
# [[archive.witness]]
# kind = "http"                      # a countersigning witness server
# url = "https://witness.example.org"
# public_key = "<base64 of its raw Ed25519 public key>"
# [[archive.witness]]
# kind = "tsa"                       # an RFC 3161 time-stamping authority
# url = "https://tsa.example.org/tsr"
# ca_file = "/etc/chatproof/tsa-ca.pem"

[sending]
# The outbox sends at most this many messages per second (the number's throughput: 80 by
# default at Meta) and leaves this many seconds between two messages to one customer.
messages_per_second = 80.0
customer_interval_seconds = 1.0
# Unique customers reached outside a 24-hour window per rolling 24 hours, as WhatsApp
# Manager shows it: 250, 2000, 10000, 100000, or 0 for unlimited.
messaging_limit = 250
# A utility template about a case the customer opened may follow this many days later.
service_case_days = 30
max_attempts = 8
# After this long without a status webhook, an agent may resend a message whose outcome
# is unknown.
unknown_grace_minutes = 15.0
# Empty lists mean the built-in German and English keywords (STOP, STOPP, ABMELDEN, …).
stop_keywords = []
start_keywords = []
unsubscribe_payloads = []
# Texts for the double opt-in by "START" (the consent text is recorded as shown) and the
# confirmations; empty means the built-in wording.
opt_in_text_de = ""
opt_in_text_en = ""
opt_in_text_version = "1"
opt_in_confirmation_de = ""
opt_in_confirmation_en = ""
opt_out_confirmation_de = ""
opt_out_confirmation_en = ""

[automations]
# Art. 13 GDPR: sent once to every new contact. Name the controller and link the notice.
privacy_notice_de = ""
privacy_notice_en = ""
# Greeting for new contacts; empty switches it off.
greeting_de = ""
greeting_en = ""
# Away message outside business hours, at most once per customer per interval.
away_de = ""
away_en = ""
away_interval_hours = 12.0
# Opening hours per weekday ("09:00-12:30, 13:30-17:00"; empty = closed). All empty: no
# away message. Public holidays of the state (BY, NW, …) and closing days close too.
hours_mon = ""
hours_tue = ""
hours_wed = ""
hours_thu = ""
hours_fri = ""
hours_sat = ""
hours_sun = ""
holiday_state = ""
closed_days = []
# FAQ answers go out automatically only inside the 24-hour window and only when enabled.
faq_enabled = false
# [[automations.faq]]
# name = "hours"
# answer = "Wir sind Mo–Fr 9–17 Uhr für Sie da."
# any = ["öffnungszeiten", "geöffnet"]
# [[automations.quick_reply]]
# name = "thanks"
# text = "Danke, {{name}}! Viele Grüße, {{agent}}"

[templates]
# The WhatsApp Business Account whose templates `chatproof templates sync` reads (Meta Cloud
# API). This is the emulator's; replace it with yours.
waba_id = "{waba_id}"
# Templates can also be listed here, as in WhatsApp Manager; synced ones take precedence.
# [[templates.template]]
# name = "order_update"
# language = "de"
# category = "utility"           # marketing, utility or authentication
# body_params = 2
# text = "Hallo {{{{1}}}}, {{{{2}}}}"

[organisation]
# The controller and its data-protection officer, for the record of processing (Art. 30 GDPR,
# `chatproof ropa`) and the procedure documentation of the GoBD export.
name = ""
address = ""
email = ""
phone = ""
representative = ""
dpo_name = ""
dpo_email = ""
dpo_phone = ""
# The WhatsApp Business Solution Provider, if messages go through one (e.g. "360dialog GmbH,
# Berlin"); empty when the Cloud API is used directly.
bsp_name = ""
# How backups are made, e.g. "daily `chatproof backup` to an encrypted NAS, kept 30 days".
backup = ""
# Language of the generated documents: "de" or "en".
language = "de"

[emulator]
port = {emulator_port}
"""


def initialise(data_dir: Path) -> Path:
    """Create ``data_dir`` with configuration and keys; return the configuration path.

    Raises:
        ConfigError: the directory already holds a configuration (nothing is overwritten).
    """
    config = data_dir / CONFIG_FILE
    if config.exists():
        raise ConfigError(f"{config} already exists; chatproof never overwrites it")
    data_dir.mkdir(parents=True, exist_ok=True)
    text = TEMPLATE.format(
        port=DEFAULT_PORT,
        emulator_port=DEFAULT_EMULATOR_PORT,
        max_body=DEFAULT_MAX_BODY_BYTES,
        api_token=secrets.token_urlsafe(32),
        phone_number_id=EMULATOR_PHONE_NUMBER_ID,
        waba_id=EMULATOR_WABA_ID,
        access_token=secrets.token_urlsafe(32),
        verify_token=secrets.token_urlsafe(24),
        app_secret=secrets.token_hex(32),
    )
    create_keys(data_dir / "keys")
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return config
