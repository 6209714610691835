"""Seal and open costs, beside raw AES-256-GCM over the same bytes, in one run.

    .venv/bin/python benchmarks/seal.py

For a 2 KB case payload and a 10 MB file: median seal and open time per object for the
ML-KEM-768+X25519 and X25519 suites, raw AES-256-GCM for comparison, and the peak memory
while sealing the 10 MB file through the stream API (it must not hold the whole file).
"""

from __future__ import annotations

import io
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.crypto import (
    SUITE_MLKEM768_X25519,
    SUITE_X25519,
    StreamOpener,
    StreamSealer,
    open_sealed,
    seal,
)
from bot.reviewing.keys import ReviewerKey

PAYLOAD = json.dumps(
    {"narrative": "Менің ұлым 2018 жылы ұсталды. " * 50, "name": "Ерлан Нұрғалиұлы"},
    ensure_ascii=False,
).encode()[:2048]
FILE = os.urandom(10 * 1024 * 1024)


def median_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def raw_aes(data: bytes) -> tuple[Callable[[], object], Callable[[], object]]:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, data, None)
    return (lambda: aead.encrypt(nonce, data, None)), (lambda: aead.decrypt(nonce, sealed, None))


def stream_pair(key: ReviewerKey, data: bytes) -> tuple[Callable[[], object], Callable[[], object]]:
    def do_seal() -> tuple[bytes, bytes, list[bytes]]:
        sealer = StreamSealer([key.public()], object_id="file", kind="attachment")
        chunks = list(sealer.seal_chunks(io.BytesIO(data)))
        return sealer.header(), sealer.wrapped_keys[key.key_id], chunks

    header, wrapped, chunks = do_seal()

    def do_open() -> None:
        opener = StreamOpener(header, wrapped, key, object_id="file", kind="attachment")
        for _plain in opener.open_chunks(chunks):
            pass

    return do_seal, do_open


def object_pair(key: ReviewerKey, data: bytes) -> tuple[Callable[[], object], Callable[[], object]]:
    sealed = seal(data, [key.public()], object_id="case", kind="case")
    wrapped = sealed.wrapped_keys[key.key_id]
    return (
        lambda: seal(data, [key.public()], object_id="case", kind="case"),
        lambda: open_sealed(sealed.ciphertext, wrapped, key, object_id="case", kind="case"),
    )


class Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    keys = {
        "ML-KEM-768+X25519": ReviewerKey.generate(SUITE_MLKEM768_X25519),
        "X25519": ReviewerKey.generate(SUITE_X25519),
    }
    print(f"{'object':<16}{'suite':<20}{'seal ms':>10}{'open ms':>10}")
    for label, data, runs in (("2 KB payload", PAYLOAD, 200), ("10 MB file", FILE, 5)):
        pair = object_pair if len(data) < 100_000 else stream_pair
        for suite, key in keys.items():
            sealer, opener = pair(key, data)
            print(
                f"{label:<16}{suite:<20}{median_ms(sealer, runs):>10.3f}"
                f"{median_ms(opener, runs):>10.3f}"
            )
        sealer, opener = raw_aes(data)
        print(
            f"{label:<16}{'raw AES-256-GCM':<20}{median_ms(sealer, runs):>10.3f}"
            f"{median_ms(opener, runs):>10.3f}"
        )
    key = keys["ML-KEM-768+X25519"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    sealer = StreamSealer([key.public()], object_id="big", kind="attachment")
    for _chunk in sealer.seal_chunks(io.BufferedReader(Zeros(10 * 1024 * 1024))):
        pass
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(
        f"peak Python memory while stream-sealing 10 MB: {peak / 1024:.0f} KiB "
        f"(max RSS grew by {grown} KiB)"
    )


if __name__ == "__main__":
    main()
