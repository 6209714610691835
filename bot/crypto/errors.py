"""What can go wrong when sealing or opening, in words a reviewer understands."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every sealing error."""


class TamperedError(CryptoError):
    """A byte of the sealed object was changed, dropped, reordered or cut off."""


class WrongObjectError(CryptoError):
    """The ciphertext belongs to another object (id or kind) than the one asked for."""


class WrongKeyError(CryptoError):
    """This private key is not a recipient of the object, or its wrapped key was altered."""


class WrongPassphraseError(CryptoError):
    """The passphrase does not open the key file."""


class KeyFileError(CryptoError):
    """A key file or recipients line is missing, malformed or unsafe."""


class UnsupportedFormatError(CryptoError):
    """An unknown format version or suite."""
