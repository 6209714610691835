"""Logging that can't carry testimony: third-party loggers that echo payloads are held back."""

from __future__ import annotations

import logging
import sys

# At DEBUG these print request parameters (message texts) or SQL parameters; httpx logs
# every URL, and a Bot API URL carries the bot token.
PAYLOAD_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "asyncpg": logging.INFO,
    "apscheduler": logging.INFO,
}


def hold_back_payload_loggers() -> None:
    """Whatever the root level, these loggers never go below their floor."""
    for name, floor in PAYLOAD_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor or logger.level == logging.NOTSET:
            logger.setLevel(floor)


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr; Aigaq's own lines carry exception types and opaque ids only."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    hold_back_payload_loggers()
