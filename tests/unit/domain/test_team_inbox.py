"""The inbox's pure rules about unread state: the views, what marking unread takes back, and
how a person's unread total adds up."""

from __future__ import annotations

import pytest

from chatproof.domain.team_inbox import (
    UNCOUNTED_TYPES,
    InboxInputError,
    UnreadSummary,
    View,
    parse_view,
    seen_after_marking_unread,
)


def test_unread_is_a_view_beside_mine_and_unassigned() -> None:
    assert parse_view("unread") is View.UNREAD
    assert parse_view("") is View.ALL
    with pytest.raises(InboxInputError) as error:
        parse_view("bold")
    assert error.value.field == "view"
    assert "all, mine, unassigned, unread" in str(error.value)


@pytest.mark.parametrize(
    ("inbound", "seen", "after"),
    [
        (5, 5, 4),  # read to the end: the newest message is unread again
        (5, 3, 3),  # already unread: stays as it is
        (1, 1, 0),
        (0, 0, 0),  # nothing to take back
    ],
)
def test_marking_unread_takes_back_at_most_the_newest_message(
    inbound: int, seen: int, after: int
) -> None:
    assert seen_after_marking_unread(inbound, seen) == after


def test_the_summary_counts_conversations_and_messages() -> None:
    summary = UnreadSummary({4: 2, 9: 1}, horizon=500)
    assert summary.conversations == 2 and summary.messages == 3
    assert UnreadSummary({}, 500).conversations == 0


def test_changes_to_earlier_messages_never_make_a_conversation_unread() -> None:
    assert set(UNCOUNTED_TYPES) == {"reaction", "edit", "revoke"}
