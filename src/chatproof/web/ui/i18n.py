"""German and English for the inbox: chosen per user, or from the browser before sign-in.
Dates and numbers are written the way each language writes them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chatproof.domain.accounts import DEFAULT_LANGUAGE, LANGUAGES

TEXTS: dict[str, dict[str, str]] = {
    "app.title": {"en": "chatproof", "de": "chatproof"},
    "login.title": {"en": "Sign in", "de": "Anmelden"},
    "login.username": {"en": "Username", "de": "Benutzername"},
    "login.password": {"en": "Password", "de": "Passwort"},
    "login.submit": {"en": "Sign in", "de": "Anmelden"},
    "login.refused": {
        "en": "Username or password is not correct.",
        "de": "Benutzername oder Passwort ist falsch.",
    },
    "login.locked": {
        "en": "Too many failed attempts; this account is locked for a while.",
        "de": "Zu viele Fehlversuche; das Konto ist vorübergehend gesperrt.",
    },
    "login.expired": {
        "en": "The form had expired; please try again.",
        "de": "Das Formular war abgelaufen; bitte erneut versuchen.",
    },
    "totp.title": {"en": "Two-factor code", "de": "Zwei-Faktor-Code"},
    "totp.code": {
        "en": "Code from your authenticator app",
        "de": "Code aus Ihrer Authenticator-App",
    },
    "totp.wrong": {"en": "The code is not correct.", "de": "Der Code ist nicht korrekt."},
    "totp.submit": {"en": "Confirm", "de": "Bestätigen"},
    "enrol.title": {"en": "Set up two-factor sign-in", "de": "Zwei-Faktor-Anmeldung einrichten"},
    "enrol.explain": {
        "en": "Your role requires a second factor. Add this secret to an authenticator app, "
        "then enter the code it shows. The secret is shown only now.",
        "de": "Ihre Rolle verlangt einen zweiten Faktor. Tragen Sie dieses Geheimnis in eine "
        "Authenticator-App ein und geben Sie den angezeigten Code ein. Es wird nur jetzt "
        "angezeigt.",
    },
    "enrol.secret": {"en": "Secret", "de": "Geheimnis"},
    "logout": {"en": "Sign out", "de": "Abmelden"},
    "password.title": {"en": "Change password", "de": "Passwort ändern"},
    "password.must": {
        "en": "Please choose your own password before you continue.",
        "de": "Bitte wählen Sie ein eigenes Passwort, bevor Sie fortfahren.",
    },
    "password.current": {"en": "Current password", "de": "Aktuelles Passwort"},
    "password.new": {
        "en": "New password (at least 12 characters)",
        "de": "Neues Passwort (mindestens 12 Zeichen)",
    },
    "password.changed": {"en": "Password changed.", "de": "Passwort geändert."},
    "save": {"en": "Save", "de": "Speichern"},
    "language": {"en": "Language", "de": "Sprache"},
    "nav.inbox": {"en": "Inbox", "de": "Posteingang"},
    "nav.statistics": {"en": "Statistics", "de": "Statistik"},
    "nav.users": {"en": "Users", "de": "Benutzer"},
    "nav.access_log": {"en": "Access log", "de": "Zugriffsprotokoll"},
    "nav.account": {"en": "My account", "de": "Mein Konto"},
    "nav.skip": {"en": "Skip to content", "de": "Zum Inhalt springen"},
    "home.title": {"en": "Welcome", "de": "Willkommen"},
    "home.role": {"en": "Your role", "de": "Ihre Rolle"},
    "users.title": {"en": "Users", "de": "Benutzer"},
    "users.add": {"en": "Add user", "de": "Benutzer anlegen"},
    "users.name": {"en": "Display name", "de": "Anzeigename"},
    "users.role": {"en": "Role", "de": "Rolle"},
    "users.state": {"en": "State", "de": "Status"},
    "users.active": {"en": "active", "de": "aktiv"},
    "users.disabled": {"en": "disabled", "de": "deaktiviert"},
    "users.locked": {"en": "locked", "de": "gesperrt"},
    "users.disable": {"en": "Disable", "de": "Deaktivieren"},
    "users.enable": {"en": "Enable", "de": "Aktivieren"},
    "users.reset": {"en": "Reset password", "de": "Passwort zurücksetzen"},
    "users.change_role": {"en": "Change role", "de": "Rolle ändern"},
    "users.one_time": {
        "en": "One-time password for {user}: {password}",
        "de": "Einmalpasswort für {user}: {password}",
    },
    "inbox.title": {"en": "Inbox", "de": "Posteingang"},
    "inbox.all": {"en": "All", "de": "Alle"},
    "inbox.mine": {"en": "Mine", "de": "Meine"},
    "inbox.unassigned": {"en": "Unassigned", "de": "Nicht zugewiesen"},
    "inbox.open": {"en": "Open", "de": "Offen"},
    "inbox.closed": {"en": "Closed", "de": "Geschlossen"},
    "inbox.any": {"en": "Any state", "de": "Alle Status"},
    "inbox.search": {"en": "Search messages", "de": "Nachrichten durchsuchen"},
    "inbox.search_button": {"en": "Search", "de": "Suchen"},
    "inbox.label_filter": {"en": "Label", "de": "Label"},
    "inbox.no_label": {"en": "All labels", "de": "Alle Labels"},
    "inbox.empty": {"en": "No conversations.", "de": "Keine Unterhaltungen."},
    "inbox.more": {"en": "Older conversations", "de": "Ältere Unterhaltungen"},
    "inbox.unread": {"en": "unread", "de": "ungelesen"},
    "inbox.view_unread": {"en": "Unread", "de": "Ungelesen"},
    "inbox.unread_total": {
        "en": "{n} conversations with messages you have not read",
        "de": "{n} Unterhaltungen mit Nachrichten, die Sie nicht gelesen haben",
    },
    "inbox.mark_unread": {"en": "Mark as unread", "de": "Als ungelesen markieren"},
    "inbox.pick": {"en": "Pick a conversation.", "de": "Wählen Sie eine Unterhaltung."},
    "inbox.back": {"en": "Back to the list", "de": "Zurück zur Liste"},
    "thread.older": {
        "en": "Older messages are not shown.",
        "de": "Ältere Nachrichten werden nicht angezeigt.",
    },
    "thread.erased": {"en": "Erased on {date}", "de": "Gelöscht am {date}"},
    "thread.edited": {"en": "edited", "de": "bearbeitet"},
    "thread.deleted": {"en": "deleted by the customer", "de": "vom Kunden gelöscht"},
    "thread.reply_to": {"en": "Reply to", "de": "Antwort auf"},
    "thread.reacted": {"en": "reacted to", "de": "reagierte auf"},
    "thread.download": {"en": "Download", "de": "Herunterladen"},
    "thread.map": {"en": "Open map", "de": "Karte öffnen"},
    "thread.media_pending": {"en": "Media is being fetched…", "de": "Medium wird geladen…"},
    "thread.media_failed": {
        "en": "Media could not be fetched",
        "de": "Medium konnte nicht geladen werden",
    },
    "thread.note": {"en": "Internal note", "de": "Interne Notiz"},
    "state.sent": {"en": "sent", "de": "gesendet"},
    "state.delivered": {"en": "delivered", "de": "zugestellt"},
    "state.read": {"en": "read", "de": "gelesen"},
    "state.failed": {"en": "failed", "de": "fehlgeschlagen"},
    "state.accepted": {"en": "accepted", "de": "angenommen"},
    "panel.contact": {"en": "Contact", "de": "Kontakt"},
    "panel.number": {"en": "Number", "de": "Nummer"},
    "panel.window": {"en": "Service window", "de": "Servicefenster"},
    "panel.window_open": {"en": "open until {time}", "de": "offen bis {time}"},
    "panel.window_closed": {
        "en": "closed: only approved templates",
        "de": "geschlossen: nur genehmigte Vorlagen",
    },
    "panel.assignee": {"en": "Assigned to", "de": "Zugewiesen an"},
    "panel.nobody": {"en": "nobody", "de": "niemand"},
    "panel.assign": {"en": "Assign", "de": "Zuweisen"},
    "panel.take": {"en": "Take it", "de": "Übernehmen"},
    "panel.give_back": {"en": "Give back", "de": "Zurückgeben"},
    "panel.labels": {"en": "Labels", "de": "Labels"},
    "panel.add_label": {"en": "Add label", "de": "Label hinzufügen"},
    "panel.remove": {"en": "remove", "de": "entfernen"},
    "panel.close": {"en": "Close conversation", "de": "Unterhaltung schließen"},
    "panel.reopen": {"en": "Reopen", "de": "Wieder öffnen"},
    "panel.notes": {"en": "Internal notes", "de": "Interne Notizen"},
    "panel.add_note": {"en": "Add note (never sent)", "de": "Notiz hinzufügen (wird nie gesendet)"},
    "panel.retention": {"en": "Retention class", "de": "Aufbewahrungsklasse"},
    "panel.reason": {"en": "Reason", "de": "Grund"},
    "panel.change": {"en": "Change", "de": "Ändern"},
    "panel.status": {"en": "State", "de": "Status"},
    "stats.from": {"en": "From", "de": "Von"},
    "stats.to": {"en": "To", "de": "Bis"},
    "stats.period": {"en": "Period", "de": "Zeitraum"},
    "stats.day": {"en": "per day", "de": "pro Tag"},
    "stats.week": {"en": "per week", "de": "pro Woche"},
    "stats.show": {"en": "Show", "de": "Anzeigen"},
    "stats.table": {"en": "Figures", "de": "Zahlen"},
    "stats.agents": {"en": "Per agent", "de": "Pro Mitarbeiter"},
    "stats.by_rule": {"en": "Refused sends by rule", "de": "Abgelehnte Sendungen nach Regel"},
    "stats.received": {"en": "received", "de": "empfangen"},
    "stats.sent": {"en": "sent", "de": "gesendet"},
    "stats.delivered": {"en": "delivered", "de": "zugestellt"},
    "stats.read": {"en": "read", "de": "gelesen"},
    "stats.failed": {"en": "failed", "de": "fehlgeschlagen"},
    "stats.opened": {"en": "opened", "de": "eröffnet"},
    "stats.closed": {"en": "closed", "de": "geschlossen"},
    "stats.opt_ins": {"en": "opt-ins", "de": "Einwilligungen"},
    "stats.opt_outs": {"en": "opt-outs", "de": "Abmeldungen"},
    "stats.refused": {"en": "refused", "de": "abgelehnt"},
    "stats.first_response_median": {
        "en": "first response (median)",
        "de": "Erste Antwort (Median)",
    },
    "stats.first_response_p90": {"en": "first response (p90)", "de": "Erste Antwort (p90)"},
    "stats.resolution_median": {"en": "resolution (median)", "de": "Lösungszeit (Median)"},
    "stats.resolution_p90": {"en": "resolution (p90)", "de": "Lösungszeit (p90)"},
    "stats.messages": {"en": "Messages", "de": "Nachrichten"},
    "stats.delivery": {"en": "Delivery", "de": "Zustellung"},
    "stats.times": {"en": "First response time", "de": "Erste Antwortzeit"},
    "stats.conversations": {"en": "Conversations", "de": "Unterhaltungen"},
    "stats.consent": {"en": "Consent and refusals", "de": "Einwilligung und Ablehnungen"},
    "composer.window_left": {
        "en": "Service window: {left} left for free text",
        "de": "Servicefenster: noch {left} für freie Antworten",
    },
    "composer.refused": {"en": "Not sent", "de": "Nicht gesendet"},
    "composer.reply": {"en": "Reply", "de": "Antwort"},
    "composer.placeholder": {
        "en": "Write a reply … type / for quick replies",
        "de": "Antwort schreiben … / für Schnellantworten",
    },
    "composer.quick": {"en": "Quick replies", "de": "Schnellantworten"},
    "composer.emoji": {"en": "Insert", "de": "Einfügen"},
    "composer.template": {"en": "Template", "de": "Vorlage"},
    "composer.free_text": {"en": "Free text", "de": "Freier Text"},
    "composer.purpose": {"en": "Purpose", "de": "Zweck"},
    "composer.service": {"en": "Service", "de": "Service"},
    "composer.marketing": {"en": "Marketing", "de": "Werbung"},
    "composer.param": {"en": "Parameter", "de": "Parameter"},
    "composer.send": {"en": "Send", "de": "Senden"},
    "composer.allowed": {"en": "Allowed", "de": "Erlaubt"},
    "composer.blocked": {"en": "Would be refused", "de": "Würde abgelehnt"},
    "composer.attach": {"en": "Attach a file", "de": "Datei anhängen"},
    "composer.attach_hint": {
        "en": "Image (JPEG, PNG, up to 5 MB), video or audio (up to 16 MB), "
        "document (PDF, Office, text, up to 100 MB)",
        "de": "Bild (JPEG, PNG, bis 5 MB), Video oder Audio (bis 16 MB), "
        "Dokument (PDF, Office, Text, bis 100 MB)",
    },
    "composer.caption": {"en": "Caption (optional)", "de": "Bildunterschrift (optional)"},
    "panel.consents": {"en": "Consent", "de": "Einwilligung"},
    "panel.granted": {"en": "granted", "de": "erteilt"},
    "panel.not_granted": {"en": "not granted", "de": "nicht erteilt"},
    "panel.withdrawn": {"en": "withdrawn", "de": "widerrufen"},
    "thread.retention": {"en": "Retention class …", "de": "Aufbewahrungsklasse …"},
    "panel.legal_hold": {"en": "Legal hold", "de": "Rechtliche Sperre (Legal Hold)"},
    "panel.yes": {"en": "yes", "de": "ja"},
    "panel.no": {"en": "no", "de": "nein"},
    "panel.dpo": {"en": "Data protection", "de": "Datenschutz"},
    "panel.dpo_reads": {
        "en": "Who read this conversation",
        "de": "Wer diese Unterhaltung gelesen hat",
    },
    "panel.dpo_consents": {
        "en": "Consent history with proof (JSON)",
        "de": "Einwilligungshistorie mit Nachweis (JSON)",
    },
    "panel.dpo_cli": {"en": "On the command line", "de": "Auf der Kommandozeile"},
    "nav.settings": {"en": "Settings", "de": "Einstellungen"},
    "settings.title": {"en": "Settings", "de": "Einstellungen"},
    "settings.where": {
        "en": "What you save here takes effect within seconds and wins over the configuration "
        "file, which holds the defaults:",
        "de": "Was Sie hier speichern, gilt nach wenigen Sekunden und hat Vorrang vor der "
        "Konfigurationsdatei mit den Voreinstellungen:",
    },
    "settings.users_link": {"en": "Users and roles:", "de": "Benutzer und Rollen:"},
    "settings.hours_hint": {
        "en": "Opening hours per day as HH:MM-HH:MM, several separated by commas; empty means "
        "closed. Outside them customers get the away message.",
        "de": "Öffnungszeiten je Tag als HH:MM-HH:MM, mehrere durch Komma getrennt; leer heißt "
        "geschlossen. Außerhalb erhalten Kunden die Abwesenheitsnachricht.",
    },
    "settings.nationwide": {
        "en": "nationwide holidays only",
        "de": "nur bundesweite Feiertage",
    },
    "settings.closed_days_label": {
        "en": "Also closed on (YYYY-MM-DD)",
        "de": "Außerdem geschlossen am (JJJJ-MM-TT)",
    },
    "settings.away_interval": {
        "en": "Away message at most every … hours per customer",
        "de": "Abwesenheitsnachricht höchstens alle … Stunden je Kunde",
    },
    "settings.source_file": {
        "en": "from the configuration file",
        "de": "aus der Konfigurationsdatei",
    },
    "settings.source_stored": {
        "en": "changed by {who} on {when}",
        "de": "geändert von {who} am {when}",
    },
    "settings.saved": {
        "en": "Saved: {value} change(s).",
        "de": "Gespeichert: {value} Änderung(en).",
    },
    "settings.synced": {
        "en": "Templates synced from the platform: {value}.",
        "de": "Vorlagen von der Plattform abgeglichen: {value}.",
    },
    "settings.submitted": {
        "en": "Template {value} was submitted for review; it stays pending until the platform "
        "approves it.",
        "de": "Vorlage {value} wurde zur Prüfung eingereicht; sie bleibt ausstehend, bis die "
        "Plattform sie genehmigt.",
    },
    "settings.invalid": {
        "en": "Nothing was saved — {problem}",
        "de": "Nichts gespeichert — {problem}",
    },
    "settings.conflict": {
        "en": "Someone else changed this meanwhile; nothing was saved and the page now shows "
        "their version. {problem}",
        "de": "Jemand anderes hat das inzwischen geändert; nichts wurde gespeichert, die Seite "
        "zeigt jetzt den neuen Stand. {problem}",
    },
    "settings.platform_refused": {
        "en": "The platform did not accept the request — {problem}",
        "de": "Die Plattform hat die Anfrage nicht angenommen — {problem}",
    },
    "settings.template_name": {"en": "Name", "de": "Name"},
    "settings.template_language": {"en": "Language", "de": "Sprache"},
    "settings.template_category": {"en": "Category", "de": "Kategorie"},
    "settings.template_status": {"en": "Status", "de": "Status"},
    "settings.template_text": {"en": "Text", "de": "Text"},
    "settings.template_variables": {
        "en": "variables as {{1}}, {{2}} …",
        "de": "Platzhalter als {{1}}, {{2}} …",
    },
    "settings.template_examples": {
        "en": "One example value per variable, one per line",
        "de": "Ein Beispielwert je Platzhalter, einer pro Zeile",
    },
    "settings.approved": {"en": "approved", "de": "genehmigt"},
    "settings.status.approved": {"en": "approved", "de": "genehmigt"},
    "settings.status.pending": {"en": "in review", "de": "in Prüfung"},
    "settings.status.rejected": {"en": "rejected", "de": "abgelehnt"},
    "settings.status.paused": {"en": "paused", "de": "pausiert"},
    "settings.status.disabled": {"en": "disabled", "de": "deaktiviert"},
    "settings.not_approved": {
        "en": "not approved (pending or rejected)",
        "de": "nicht genehmigt (in Prüfung oder abgelehnt)",
    },
    "settings.sync_now": {"en": "Sync now", "de": "Jetzt abgleichen"},
    "settings.new_template": {"en": "Submit a new template", "de": "Neue Vorlage einreichen"},
    "settings.submit_template": {"en": "Submit for review", "de": "Zur Prüfung einreichen"},
    "settings.no_waba": {
        "en": "Set templates.waba_id in the configuration file to sync and submit templates.",
        "de": "Für Abgleich und Einreichen von Vorlagen templates.waba_id in der "
        "Konfigurationsdatei setzen.",
    },
    "settings.history": {
        "en": "Recent changes (from the archive)",
        "de": "Letzte Änderungen (aus dem Archiv)",
    },
    "settings.what": {"en": "Setting", "de": "Einstellung"},
    "settings.before": {"en": "Before", "de": "Vorher"},
    "settings.after": {"en": "After", "de": "Nachher"},
    "settings.hours": {"en": "Business hours", "de": "Geschäftszeiten"},
    "settings.closed": {"en": "closed", "de": "geschlossen"},
    "settings.holidays": {"en": "Public holidays of", "de": "Feiertage von"},
    "settings.closed_days": {"en": "also closed", "de": "außerdem geschlossen"},
    "settings.texts": {"en": "Automatic texts", "de": "Automatische Texte"},
    "settings.privacy_notice": {
        "en": "Privacy notice (Art. 13)",
        "de": "Datenschutzhinweis (Art. 13)",
    },
    "settings.greeting": {"en": "Greeting", "de": "Begrüßung"},
    "settings.away": {"en": "Away message", "de": "Abwesenheitsnachricht"},
    "day.mon": {"en": "Monday", "de": "Montag"},
    "day.tue": {"en": "Tuesday", "de": "Dienstag"},
    "day.wed": {"en": "Wednesday", "de": "Mittwoch"},
    "day.thu": {"en": "Thursday", "de": "Donnerstag"},
    "day.fri": {"en": "Friday", "de": "Freitag"},
    "day.sat": {"en": "Saturday", "de": "Samstag"},
    "day.sun": {"en": "Sunday", "de": "Sonntag"},
    "settings.delete": {"en": "Delete", "de": "Löschen"},
    "settings.reply_name": {"en": "Name (typed after /)", "de": "Name (nach / tippen)"},
    "settings.reply_text": {"en": "Text", "de": "Text"},
    "settings.except_replies": {
        "en": "— except quick replies, which you can also keep here.",
        "de": "— außer Schnellantworten, die Sie auch hier pflegen können.",
    },
    "panel.dpo_person": {
        "en": "Every access to this person's data",
        "de": "Jeder Zugriff auf die Daten dieser Person",
    },
    "panel.dpo_requests": {"en": "Data-subject requests", "de": "Betroffenenanfragen"},
    "access.title": {"en": "Access log", "de": "Zugriffsprotokoll"},
    "access.at": {"en": "When", "de": "Wann"},
    "access.actor": {"en": "Who", "de": "Wer"},
    "access.action": {"en": "What", "de": "Was"},
    "access.target": {"en": "Which", "de": "Welche"},
    "nav.requests": {"en": "Requests", "de": "Betroffenenanfragen"},
    "dsr.title": {"en": "Data-subject requests", "de": "Anfragen betroffener Personen"},
    "dsr.kind": {"en": "Kind", "de": "Art"},
    "dsr.contact": {"en": "Contact", "de": "Kontakt"},
    "dsr.received": {"en": "Received", "de": "Eingegangen"},
    "dsr.due": {"en": "Due", "de": "Frist"},
    "dsr.state": {"en": "State", "de": "Stand"},
    "dsr.on_time": {"en": "on time", "de": "im Plan"},
    "dsr.due_soon": {"en": "due soon", "de": "bald fällig"},
    "dsr.overdue": {"en": "overdue", "de": "überfällig"},
    "dsr.report": {"en": "Access report (zip)", "de": "Auskunft (zip)"},
    "dsr.staff_names": {
        "en": "Name staff (my own view)",
        "de": "Mitarbeiter nennen (eigene Ansicht)",
    },
    "dsr.access_of": {"en": "Who read it", "de": "Wer hat gelesen"},
    "nav.audit": {"en": "Audit", "de": "Außenprüfung"},
    "audit.title": {"en": "Search the archive", "de": "Archiv durchsuchen"},
    "audit.period": {"en": "Audit period", "de": "Prüfungszeitraum"},
    "audit.none": {"en": "No audit period is set.", "de": "Kein Prüfungszeitraum festgelegt."},
    "audit.export": {
        "en": "Download the GoBD data handover (Z3)",
        "de": "GoBD-Datenträgerüberlassung (Z3) herunterladen",
    },
    "audit.export_from": {"en": "from", "de": "von"},
    "audit.export_to": {"en": "to", "de": "bis"},
}


def translate(language: str, key: str, **values: object) -> str:
    entry = TEXTS.get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text


def from_accept_language(header: str) -> str:
    """The first of the browser's languages that the inbox speaks."""
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def format_time(language: str, value: datetime | None, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz)
    return (
        local.strftime("%d.%m.%Y %H:%M") if language == "de" else local.strftime("%Y-%m-%d %H:%M")
    )


def format_number(language: str, value: float, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}"
    if language == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
