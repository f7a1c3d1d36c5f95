"""The query plans of the inbox list and the unread counts, without timing anything: writes a
small data set as ``bench/inbox.py`` does (a supervisor with their own read state), runs the
list views, the unread total and opening a thread through the services, and prints SQLite's
``EXPLAIN QUERY PLAN`` (PostgreSQL's ``EXPLAIN`` with ``--database-url``) for each statement
that reads conversations or read state. A plan that walks
``ix_conversations_last_message_at`` and reaches everything else by primary key or index
stays cheap at any size; a ``SCAN`` of a table or a ``TEMP B-TREE`` for the order would not.

Example: .venv/bin/python bench/inbox_plans.py --conversations 2000 --messages 20000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.inbox import PASSWORD, START, generate
from sqlalchemy import event

from chatproof.bootstrap import build
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.domain.accounts import Principal, Role
from chatproof.domain.team_inbox import View
from chatproof.services import inbox
from chatproof.services.accounts import add_user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument(
        "--database-url", default="", help="an empty PostgreSQL database instead of SQLite"
    )
    args = parser.parse_args(argv)
    environ = {"CHATPROOF_DATABASE_URL": args.database_url} if args.database_url else {}
    root = Path(tempfile.mkdtemp(prefix="chatproof-plans-"))
    try:
        initialise(root / "data")
        components = build(load_settings(root / "data", environ))
        try:
            user, _ = add_user(
                components.writer,
                "bench",
                START - timedelta(days=1),
                username="lead",
                role=Role.SUPERVISOR,
                password=PASSWORD,
            )
            agent, _ = add_user(
                components.writer,
                "bench",
                datetime.now(UTC),
                username="agent",
                role=Role.AGENT,
                password=PASSWORD,
            )
            generate(components, args.conversations, args.messages, 50, user.id)
            with components.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            statements: list[tuple[str, Any]] = []

            def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                head = statement.lstrip().upper()
                if head.startswith("EXPLAIN") or (statement, parameters) in statements:
                    return
                reads = head.startswith("SELECT") and "conversations" in statement
                if reads or "read_" in statement or "sent_at <" in statement:
                    statements.append((statement, parameters))

            event.listen(components.engine, "before_cursor_execute", capture)
            now = datetime.now(UTC)
            cases = {
                "list (all)": lambda p: inbox.list_inbox(components.writer, p, now),
                "list (unread view)": lambda p: inbox.list_inbox(
                    components.writer, p, now, view=View.UNREAD
                ),
                "unread total": lambda p: inbox.unread_summary(components.reader, p),
                "open thread": lambda p: inbox.open_thread(components.writer, p, now, 2),
            }
            for who in (Principal(user.actor, user), Principal(agent.actor, agent)):
                for name, call in cases.items():
                    statements.clear()
                    call(who)
                    for statement, parameters in statements:
                        _explain(components.engine, f"{who.actor}: {name}", statement, parameters)
            event.remove(components.engine, "before_cursor_execute", capture)
        finally:
            components.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _explain(engine: Any, name: str, statement: str, parameters: Any) -> None:
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(explain + statement, parameters).all()
    print(f"== {name}\n{' '.join(statement.split())[:300]}")
    for row in rows:
        print("   ", row[-1])
    print()


if __name__ == "__main__":
    sys.exit(main())
