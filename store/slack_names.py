"""Names Slack gives for user and channel ids, kept so the audit can name who acted where.

Slack sends them in the payloads of the people who act (`user_name`, `user.name`,
`channel.name`): remembering them costs no API call and never delays an acknowledgement.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from store.db import session_scope
from store.models import NAME_LENGTH, SlackName, utcnow


def remember(engine: Engine, names: Mapping[str, str]) -> None:
    """Store each id's name where it is new or changed; a replica storing the same id at
    the same moment wins, which is as good."""
    for slack_id, name in names.items():
        if not slack_id or not name:
            continue
        try:
            with session_scope(engine) as session:
                known = session.get(SlackName, slack_id)
                if known is None:
                    session.add(SlackName(slack_id=slack_id, name=name[:NAME_LENGTH]))
                elif known.name != name[:NAME_LENGTH]:
                    known.name, known.updated_at = name[:NAME_LENGTH], utcnow()
        except IntegrityError:
            continue


def name_of(session: Session, slack_id: str) -> str:
    """The id's newest known name, "" when Slack never gave one."""
    known = session.get(SlackName, slack_id) if slack_id else None
    return known.name if known is not None else ""
