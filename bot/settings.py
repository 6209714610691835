"""Aigaq's one settings object: environment variables `AIGAQ_*` and an optional `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/aigaq.db"
SUPPORTED_LOCALES = ("kk", "ru", "en", "kk_Arab")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Everything Aigaq can be configured with. Passed in, never global."""

    model_config = SettingsConfigDict(
        env_prefix="AIGAQ_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    # The reviewers' aigaq-pub-v1 lines, from which an admin signs the roster (`aigaq keys
    # roster sign`); on a reviewer's machine, her team key list (bot/reviewing/opening.py).
    recipients: Path = Path("recipients.txt")
    # The team roster, signed offline with the roster key (bot/crypto/roster.py): the bot
    # seals only to its reviewers. The roster key's fingerprint is pinned here, never read
    # from the database; unset, the bot does not start.
    roster: Path = Path("roster.json")
    roster_key: str | None = None
    # The newest roster version this machine has seen; unset, `<roster>.seen` beside it.
    roster_seen_file: Path | None = None
    secret_key_file: Path = Path("var/server.key")
    admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "kk"
    # Who runs this bot, as relatives read it in the welcome, /help and /privacy.
    organisation: str | None = Field(default=None, max_length=120)
    # On a reviewer's machine: the fingerprint of the bot's delivery-signing key, as `aigaq
    # keys inbox` prints it on the server. Questions and notices to a relative are sealed
    # only to a delivery key it certified (bot/crypto/delivery.py).
    inbox_fingerprint: str | None = None
    # On a reviewer's machine: the fingerprint of the bot's intake signing key, as `aigaq
    # keys intake` prints it on the server. A case's manifest signed by another key is
    # refused (bot/crypto/intake.py); unset, the signature is checked against the key the
    # manifest names, which proves nothing against whoever writes to the database.
    intake_fingerprint: str | None = None
    # On the server: the bot's intake signing key; unset, `intake.key` beside the server key.
    intake_key_file: Path | None = None
    # On the server: the bot's backup signing key; unset, `backup.key` beside the server key.
    # A reviewer's `aigaq restore` refuses a backup it did not sign (bot/crypto/backup_signer.py).
    backup_key_file: Path | None = None
    # On a reviewer's machine: her encrypted duplicate index; unset, beside her key file.
    duplicate_index: Path | None = None
    # On the server: the bot's delivery keys and their signing key; unset, the folder
    # `delivery/` beside the server key file.
    delivery_key_dir: Path | None = None
    # A new delivery key is made when the current one is this many days old.
    delivery_key_days: int = Field(default=7, ge=1, le=90)
    # An answer button works this many days after the question was asked, then dies.
    answer_token_days: int = Field(default=30, ge=1, le=365)
    # A reviewer's signed request older than this is refused (a forgotten requests file).
    request_max_age_days: int = Field(default=14, ge=1, le=365)
    # Where reviewer tools write their signed requests for `aigaq apply FILE` (a reviewer
    # working on a copy of the SQLite database); unset, into the database's request table.
    requests_file: Path | None = None

    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    draft_ttl_days: int = Field(default=7, ge=1, le=365)
    # Rejected cases are shredded this many days after the decision; unset: kept.
    rejected_retention_days: int | None = Field(default=None, ge=0)
    max_submissions_per_day: int = Field(default=5, ge=1)
    max_messages_per_minute: int = Field(default=40, ge=1)
    # One draft holds at most this many story pieces and files, and this many MB of files; one
    # account adds at most twice as many of each a day (counted in memory: bot/services/flood.py).
    max_draft_pieces: int = Field(default=200, ge=1)
    max_draft_files: int = Field(default=60, ge=1)
    max_draft_mb: int = Field(default=300, ge=1)
    # Telegram allows about 30 messages a second (1000 with paid broadcasts); a little
    # under is steadier. Several sender processes share it equally.
    broadcast_rate: float = Field(default=29.0, gt=0, le=1000)
    broadcast_senders: int = Field(default=1, ge=1, le=64)
    # Telegram's paid broadcasts (Stars) lift the limit to 1000/s; set the rate to match.
    broadcast_paid: bool = False
    # A broadcast written in Telegram that would reach more subscribers than this waits for
    # a second admin's approval (a hijacked admin account cannot write to everyone alone);
    # `aigaq broadcast` on the server asks for --yes instead.
    broadcast_approval_above: int = Field(default=50, ge=0)
    # `aigaq doctor` fails, and staff are told once, when the disk holding the database or
    # the bot's own files has less free space than this (MB); 0 turns the warning off.
    min_free_disk_mb: int = Field(default=1024, ge=0)

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.replace(";", ",").replace(" ", ",").split(",") if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("organisation")
    @classmethod
    def _organisation_name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if any(not char.isprintable() for char in value):
            raise ValueError("must be a plain name on one line")
        return value.strip()

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    def delivery_folder(self) -> Path:
        """Where the bot's delivery keys live: beside the server key, never in the database."""
        return self.delivery_key_dir or self.secret_key_file.parent / "delivery"

    def intake_key(self) -> Path:
        """Where the bot's intake signing key lives: beside the server key, never in the
        database."""
        return self.intake_key_file or self.secret_key_file.parent / "intake.key"

    def backup_key(self) -> Path:
        """Where the bot's backup signing key lives: beside the server key, never in the
        database or its backups."""
        return self.backup_key_file or self.secret_key_file.parent / "backup.key"

    def roster_seen(self) -> Path:
        """Where the newest roster version seen is kept (an older one is refused)."""
        return self.roster_seen_file or self.roster.with_name(self.roster.name + ".seen")

    def require_roster_key(self) -> str:
        """The roster key's fingerprint, or a SettingsError saying how to get it."""
        if not self.roster_key or not self.roster_key.strip():
            raise SettingsError(
                "AIGAQ_ROSTER_KEY is not set. Put the fingerprint of your team's roster key "
                "in the .env file (`aigaq keys roster key --out FILE` makes the key on an "
                "admin's laptop and prints the line): the bot seals testimony only to the "
                "reviewers of a roster signed with that key (docs/deploy.md)."
            )
        return self.roster_key.strip()

    def require_token(self) -> str:
        """Return the bot token or raise a SettingsError explaining how to get one."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise SettingsError(
                "AIGAQ_BOT_TOKEN is not set. Ask @BotFather in Telegram for a token "
                "(/newbot), then put AIGAQ_BOT_TOKEN=<token> in a .env file here "
                "or in the environment."
            )
        return self.bot_token.get_secret_value().strip()

    def require_organisation(self) -> str:
        """Return who runs the bot, or raise: relatives are told it before they say a word."""
        if self.organisation is None:
            raise SettingsError(
                "AIGAQ_ORGANISATION is not set. Relatives are told who runs this bot before "
                "they answer anything: put AIGAQ_ORGANISATION=<your organisation's name> in "
                "the .env file or in the environment."
            )
        return self.organisation


def load_settings(**overrides: object) -> Settings:
    """Read the settings; turn pydantic's report into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            lines.append(f"AIGAQ_{field.upper()}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
