"""The folder tree shows the threat model: the server never imports the reviewer's side."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot import crypto
from bot.crypto import DeliveryKey, ServerKey
from bot.crypto.delivery import DeliveryKeyring
from bot.reviewing.keys import ReviewerKey

ROOT = Path(__file__).parent.parent


def test_the_import_contract_holds() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "0 broken" in result.stdout


def test_the_bots_own_key_is_not_a_reviewers_key(tmp_path: Path) -> None:
    keyring = DeliveryKeyring(tmp_path / "delivery")
    delivery = keyring.make(datetime.now(UTC)).key
    assert isinstance(delivery, DeliveryKey) and not isinstance(delivery, ReviewerKey)
    assert not hasattr(ServerKey, "inbox")  # no private key is derived from the server key
    assert not hasattr(crypto, "ReviewerKey")  # only bot/reviewing/ can load a key file


def test_no_module_of_the_bot_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, long
