"""docs/deploy.md, followed from outside: a reviewer makes her key, the admin runs the guide's
roster block as written (in a temporary folder, with the real `aigaq` command), and the real
`aigaq run` process starts with that roster and answers a relative over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bot.localapi.http import BotProcess, StandIn, clean_env, make_user

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
AIGAQ = Path(sys.executable).parent / "aigaq"
TOKEN = "333333:DEPLOY-walkthrough"
PASSPHRASE = "a long enough passphrase"


def roster_block() -> str:
    """The shell block of the guide's "The team roster" section, as the admin reads it."""
    section = GUIDE.read_text(encoding="utf-8").split("## The team roster", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "docs/deploy.md has no shell block under 'The team roster'"
    return found.group(1)


def run(command: list[str], folder: Path, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        command, cwd=folder, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_the_guides_roster_block_then_a_running_bot(tmp_path: Path) -> None:
    env = clean_env() | {"PATH": f"{AIGAQ.parent}:/usr/bin:/bin"}
    # The reviewer, on her own machine: her key, and the two lines she gives the admin.
    (tmp_path / "pass.txt").write_text(PASSPHRASE)
    lines = run(
        [str(AIGAQ), "keys", "generate", "--out", "reviewer.key", "--passphrase-file", "pass.txt"],
        tmp_path,
        env,
    )
    assert lines.startswith("aigaq-pub-v1 ") and "\naigaq-sign-v1 " in lines
    (tmp_path / "from-reviewers.txt").write_text(lines)
    # The admin runs the guide's block as written; only the editor step is done for her.
    block = roster_block()
    editor = [line for line in block.splitlines() if line.startswith("nano recipients.txt")]
    assert len(editor) == 1, "the roster block should have the admin paste the lines once"
    script = block.replace(editor[0], "cat from-reviewers.txt > recipients.txt")
    output = run(["bash", "-euo", "pipefail", "-c", script], tmp_path, env)
    fingerprint = re.search(r"AIGAQ_ROSTER_KEY=([0-9a-f]{64})", output)
    assert fingerprint, output
    assert "version 1" in output and "Your Organisation" in output
    # The server: the roster file and the fingerprint, never the roster key.
    server = tmp_path / "server"
    server.mkdir()
    (server / "roster.json").write_bytes((tmp_path / "roster.json").read_bytes())
    standin = StandIn()
    api = standin.add_bot(TOKEN)
    await standin.start()
    bot = BotProcess(
        "aigaq",
        [str(AIGAQ), "run"],
        env
        | {
            "AIGAQ_BOT_TOKEN": TOKEN,
            "AIGAQ_TELEGRAM_API_URL": standin.api_url,
            "AIGAQ_TELEGRAM_FILE_URL": standin.file_url,
            "AIGAQ_ORGANISATION": "Your Organisation",
            "AIGAQ_DATABASE_URL": f"sqlite+aiosqlite:///{server}/aigaq.db",
            "AIGAQ_SECRET_KEY_FILE": str(server / "var" / "server.key"),
            "AIGAQ_ROSTER": str(server / "roster.json"),
            "AIGAQ_ROSTER_KEY": fingerprint.group(1),
        },
        server,
    )
    try:
        await bot.wait_polling(api)
        relative = make_user(standin, api, 4242, forge=False)
        await relative.send_command("start")
        assert relative.messages, "the bot did not answer /start"
        assert "Your Organisation" in "".join(m.text or "" for m in relative.messages)
    finally:
        await bot.stop()
        await standin.stop()
    log = bot.log_path.read_text(errors="replace")
    assert "roster version 1: 1 reviewer keys" in log
    assert not list(server.glob("*signing*")), "the roster key went to the server"
