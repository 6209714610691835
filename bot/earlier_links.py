"""What revision 0014 kept of the old link between an account and its cases, until the next start.

Before receipt codes a case was hers through `cases.account_id`. The migration moved the links
of cases not withdrawn here; at its next start the bot sends each relative it can still reach
her case's receipt code and deletes every row (bot/services/earlier.py). Nothing writes here.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base


class EarlierLink(Base):
    """A case filed before receipt codes, and the account that filed it."""

    __tablename__ = "earlier_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
