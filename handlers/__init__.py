"""The Telegram layer: each module has one `register(app)`; importing registers nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import AigaqApplication


def register_all(application: AigaqApplication) -> None:
    """Add every handler to the application, in the order they must be tried."""
    from handlers import (
        admin,
        broadcast,
        cases,
        common,
        copied_command,
        fading,
        followup,
        forget,
        intake,
        outbox,
        retention,
    )

    # A command copied from an Arabic-script message, isolate characters and all.
    copied_command.register(application)
    # /forget is heard in the middle of any dialogue, which it ends.
    forget.register(application)
    # An admin in the middle of writing a broadcast is heard by that dialogue first.
    broadcast.register(application)
    followup.register(application)
    intake.register(application)
    common.register(application)
    cases.register(application)
    fading.register(application)
    admin.register(application)
    outbox.register(application)
    retention.register(application)
    common.register_fallbacks(application)
