"""Where a turn starts on the conversation's tree of messages (CONTRACT §6 branches)."""

from __future__ import annotations

from uuid import UUID

import msgspec


class BranchPoint(msgspec.Struct, frozen=True, kw_only=True):
    """A turn that starts a new branch. `parent_id` is the message the new branch hangs under
    (null: a new root); with `regenerate`, it is the user message answered again and no new
    user message is stored. A turn without one continues the active leaf."""

    parent_id: UUID | None
    regenerate: bool = False
