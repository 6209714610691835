"""Sealing: testimony readable only by reviewers, and the server key for drafts and ids.

The byte formats are documented in docs/sealing.md.
"""

from bot.crypto.envelope import Sealed, open_sealed, seal, unwrap_data_key, wrap_data_key
from bot.crypto.errors import (
    CryptoError,
    KeyFileError,
    TamperedError,
    UnsupportedFormatError,
    WrongKeyError,
    WrongObjectError,
    WrongPassphraseError,
)
from bot.crypto.keys import (
    SUITE_MLKEM768_X25519,
    SUITE_X25519,
    DeliveryKey,
    PrivateKey,
    RecipientPublicKey,
    load_recipients,
    normalise_fingerprint,
)
from bot.crypto.server import ServerKey
from bot.crypto.stream import StreamOpener, StreamResult, StreamSealer, open_file, seal_file

__all__ = [
    "SUITE_MLKEM768_X25519",
    "SUITE_X25519",
    "CryptoError",
    "DeliveryKey",
    "KeyFileError",
    "PrivateKey",
    "RecipientPublicKey",
    "Sealed",
    "ServerKey",
    "StreamOpener",
    "StreamResult",
    "StreamSealer",
    "TamperedError",
    "UnsupportedFormatError",
    "WrongKeyError",
    "WrongObjectError",
    "WrongPassphraseError",
    "load_recipients",
    "normalise_fingerprint",
    "open_file",
    "open_sealed",
    "seal",
    "seal_file",
    "unwrap_data_key",
    "wrap_data_key",
]
