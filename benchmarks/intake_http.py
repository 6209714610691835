"""Intake over HTTP: the real `aigaq run` process beside a bare PTB echo bot, at the same load.

    .venv/bin/python benchmarks/intake_http.py [--runs 5] [--idle-seconds 10] [--profile]
    (the same as .venv/bin/python benchmarks/intake.py --http …)

A stand-in Bot API — bot/localapi's fake, served over HTTP by uvicorn on 127.0.0.1 — plays
Telegram for two subprocesses: `.venv/bin/aigaq run` (long polling, its rate limiter, a
fresh SQLite database and fresh keys in a temporary folder) and benchmarks/echo_bot.py.
Relatives walk the whole intake (tests/test_intake_dialogue.py `walk_intake`: text
answers, a name by voice, a long story, another voice message, two photos and a PDF),
1 and then 5 at once, their updates handed out by getUpdates as Telegram would; the echo
bot gets the very same updates. Each relative sends her next update once the bot has
answered the last one and gone quiet for a moment.

Measured from outside: each bot process's CPU time (threads included) per update, and its
CPU per second while idle. `--profile` samples the Aigaq process, then the echo bot, with
py-spy during one more walk of each load (`pip install --target /tmp/pyspy py-spy`, or pass
--py-spy PATH), and prints where each spends its time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import linecache
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.crypto.roster import write_roster
from bot.localapi.http import (
    PATIENCE,
    BotProcess,
    HttpUser,
    StandIn,
    clean_env,
    make_user,
)
from bot.reviewing.keys import ReviewerKey
from tests.test_intake_dialogue import CODE, PERSONS, walk_intake

AIGAQ_TOKEN = "111111:AIGAQ-benchmark-token"  # noqa: S105 - valid nowhere
ECHO_TOKEN = "222222:ECHO-benchmark-token"  # noqa: S105 - valid nowhere
ONE_PERSON = cast(list[dict[str, Any]], PERSONS[:1])


# -- CPU time of another process, threads included ------------------------------------


class CpuClock:
    """A process's CPU time in seconds: its CPU-time clock (ns), or /proc ticks otherwise."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.clock: int | None = None
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            clock = ctypes.c_int()
            if libc.clock_getcpuclockid(pid, ctypes.byref(clock)) == 0:
                self.clock = clock.value

    def seconds(self) -> float:
        if self.clock is not None:
            return time.clock_gettime(self.clock)
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the stand-in Bot API ---------------------------------------------------------------


class MeasuredBot(BotProcess):
    """A bot process whose CPU clock is read from outside."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path) -> None:
        super().__init__(name, argv, env, folder)
        self.cpu = CpuClock(self.process.pid)


def start_aigaq(standin: StandIn, folder: Path) -> BotProcess:
    folder.mkdir(exist_ok=True)
    roster = folder / "roster.json"
    roster_key = write_roster(
        roster, Ed25519PrivateKey.generate(), [ReviewerKey.generate().public()]
    )
    env = clean_env() | {
        "AIGAQ_BOT_TOKEN": AIGAQ_TOKEN,
        "AIGAQ_TELEGRAM_API_URL": standin.api_url,
        "AIGAQ_TELEGRAM_FILE_URL": standin.file_url,
        "AIGAQ_ORGANISATION": "Benchmark Witness Project",
        "AIGAQ_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/aigaq.db",
        "AIGAQ_SECRET_KEY_FILE": str(folder / "server.key"),
        "AIGAQ_ROSTER": str(roster),
        "AIGAQ_ROSTER_KEY": roster_key,
        # A relative here answers as fast as the bot does, not as fast as a person types.
        "AIGAQ_MAX_MESSAGES_PER_MINUTE": "100000",
        "AIGAQ_MAX_SUBMISSIONS_PER_DAY": "100",
    }
    aigaq = Path(sys.executable).parent / "aigaq"
    return MeasuredBot("aigaq", [str(aigaq), "run"], env, folder)


def start_echo(standin: StandIn, folder: Path, *, limiter: bool = False) -> BotProcess:
    folder.mkdir(exist_ok=True)
    env = clean_env() | {
        "ECHO_BOT_TOKEN": ECHO_TOKEN,
        "ECHO_API_URL": standin.api_url,
        "ECHO_FILE_URL": standin.file_url,
        "ECHO_LIMITER": "1" if limiter else "0",
    }
    script = Path(__file__).resolve().parent / "echo_bot.py"
    return MeasuredBot("echo", [sys.executable, str(script)], env, folder)


# -- walking the intake ---------------------------------------------------------------


@dataclass
class Drive:
    updates: int
    cpu: float  # s
    wall: float  # s
    walked: int
    relatives: int
    calls: int  # Bot API calls but getUpdates, downloads included

    def ms_per_update(self, idle_ms_per_s: float = 0.0) -> float:
        """CPU ms per update; less the idle rate (ms of CPU per s) over the drive's wall time."""
        return (1000 * self.cpu - idle_ms_per_s * self.wall) / self.updates


async def walk(user: HttpUser, *, echo: bool) -> bool:
    try:
        await walk_intake(user, locale="kk", persons=ONE_PERSON, by_voice=True)
    except AssertionError as error:
        if echo and "case code" in str(error):
            return True  # the echo bot shows none, and that is all that failed
        if "case code" in str(error):  # sealing took longer than QUIET: wait for the code
            deadline = time.monotonic() + PATIENCE
            while time.monotonic() < deadline:
                if any(CODE.search(m.text or "") for m in user.messages):
                    return True
                await asyncio.sleep(0.05)
        print(f"  relative {user.user_id}: {error}", file=sys.stderr)
        return False
    return True


async def drive(
    standin: StandIn, token: str, bot: BotProcess, relatives: int, first_id: int
) -> Drive:
    echo = token == ECHO_TOKEN
    api = standin.apis[token]
    users = [make_user(standin, api, first_id + i, forge=echo) for i in range(relatives)]
    await standin.settle()
    pushed, calls = standin.pushed, len(api.log)
    cpu, wall = bot.cpu.seconds(), time.perf_counter()
    walked = await asyncio.gather(*(walk(user, echo=echo) for user in users))
    await standin.settle()
    # The closing quiet is not part of the work; its idle cost is left in like the rest.
    return Drive(
        updates=standin.pushed - pushed,
        cpu=bot.cpu.seconds() - cpu,
        wall=time.perf_counter() - wall,
        walked=sum(walked),
        relatives=relatives,
        calls=sum(call.method != "getUpdates" for call in api.log[calls:]),
    )


async def idle(bots: list[BotProcess], seconds: float) -> list[float]:
    """CPU ms per second of each bot over the same `seconds` with nothing to do."""
    before = [bot.cpu.seconds() for bot in bots]
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - start
    return [1000 * (bot.cpu.seconds() - b) / elapsed for bot, b in zip(bots, before, strict=True)]


# -- the profile ------------------------------------------------------------------------

HTTP = "HTTP client (httpx, httpcore, h11, anyio)"
CRYPTO = "crypto (cryptography, hmac, bot/crypto, sealing)"
I18N = "i18n (babel, gettext, bot/i18n)"
LOOP = "event loop (asyncio, selectors, sockets)"
CATEGORIES = (  # (what a py-spy frame contains, its layer); first match wins
    ("(telegram/", "python-telegram-bot"),
    ("(httpx/", HTTP),
    ("(httpcore/", HTTP),
    ("(h11/", HTTP),
    ("(anyio/", HTTP),
    ("(urllib/", HTTP),
    ("(http/", HTTP),
    ("(sqlalchemy/", "SQLAlchemy"),
    ("(aiosqlite/", "SQLite (aiosqlite thread, sqlite3)"),
    ("(sqlite3/", "SQLite (aiosqlite thread, sqlite3)"),
    ("(cryptography/", CRYPTO),
    ("(bot/crypto/", CRYPTO),
    ("(bot/sealing.py", CRYPTO),
    ("(hmac.py", CRYPTO),
    ("(hashlib.py", CRYPTO),
    ("(json/", "JSON"),
    ("(babel/", I18N),
    ("(gettext.py", I18N),
    ("(bot/i18n", I18N),
    ("(jinja2/", "templates (jinja2)"),
    ("(logging/", "logging"),
    ("(bot/logs.py", "logging"),
    ("(bot/persistence.py", "Aigaq: persistence"),
    ("(handlers/", "Aigaq: handlers"),
    ("(bot/services/", "Aigaq: services"),
    ("(bot/", "Aigaq: other"),
    ("(pydantic", "pydantic"),
    ("importlib", "imports at run time (importlib)"),
    ("(asyncio/", LOOP),
    ("(selectors.py", LOOP),
    ("(socket.py", LOOP),
    ("(apscheduler/", "job queue (apscheduler)"),
    ("(threading.py", "threads (queue, threading)"),
    ("(queue.py", "threads (queue, threading)"),
    ("(concurrent/", "threads (queue, threading)"),
)
# Frames that only carry the run: left out of the top-functions list.
PLUMBING = ("(typer/", "(asyncio/", "(aigaq:", "(bot/cli/", "(threading.py", "(concurrent/")
# A sample whose innermost line waits (py-spy --nonblocking counts some waits as active).
WAITING = re.compile(r"\.(select|get|wait|acquire|poll|epoll)\(")


def source_line(frame: str) -> str:
    """The source line of a py-spy frame `function (path:line)`, found along sys.path."""
    where = frame.rpartition(" (")[2].rstrip(")")
    path, _, line = where.rpartition(":")
    if not line.isdigit():
        return ""
    for base in sys.path:
        text = linecache.getline(str(Path(base) / path), int(line))
        if text:
            return text
    return ""


def category(frame: str) -> str:
    for needle, name in CATEGORIES:
        if needle in frame:
            return name
    return "other (stdlib, typing, dataclasses, …)"


def short(frame: str) -> str:
    """`function (path:line)` → `function (path)`."""
    name, _, where = frame.rpartition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rstrip(')')})"


def summarise_profile(raw: Path, updates: int, cpu_ms: float, top: int = 20) -> None:
    stacks: Counter[tuple[str, ...]] = Counter()
    waiting = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = tuple(f for f in stack.split(";") if f.strip())
        if not frames or not samples.isdigit():
            continue
        if WAITING.search(source_line(frames[-1])):
            waiting += int(samples)
        else:
            stacks[frames] += int(samples)
    total = sum(stacks.values())
    if not total:
        print("py-spy recorded no samples")
        return
    inclusive: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    layers_inclusive: Counter[str] = Counter()
    for frames, count in stacks.items():
        for name in {short(f) for f in frames}:
            inclusive[name] += count
        layers[category(frames[-1])] += count
        for name in {category(f) for f in frames}:
            layers_inclusive[name] += count
    per_update = cpu_ms / updates
    print(
        f"\nprofile: {total} samples on CPU ({waiting} waiting in select/get/wait left out) "
        f"over {updates} updates "
        f"({cpu_ms / updates:.2f} ms CPU per update while sampled)"
    )
    print("\nwhere the time goes, by layer: self (the frame on CPU) and inclusive (on the stack)")
    for name, count in layers.most_common():
        share = count / total
        print(
            f"  {100 * share:5.1f} %  {per_update * share:5.2f} ms   "
            f"incl {100 * layers_inclusive[name] / total:5.1f} %   {name}"
        )
    print(f"\ntop {top} functions by inclusive time (event-loop plumbing left out)")
    shown = 0
    for name, count in inclusive.most_common():
        if any(part in name for part in PLUMBING) or "_update_fetcher" in name:
            continue
        print(f"  {100 * count / total:5.1f} %  {per_update * count / total:5.2f} ms   {name}")
        shown += 1
        if shown >= top:
            break
    print("\nAigaq's own code (handlers/, bot/ but the CLI) by inclusive time")
    own = [
        (name, count)
        for name, count in inclusive.most_common()
        if ("(handlers/" in name or "(bot/" in name) and "(bot/cli/" not in name
    ]
    for name, count in own[:top]:
        print(f"  {100 * count / total:5.1f} %  {per_update * count / total:5.2f} ms   {name}")


def find_py_spy(given: str | None) -> str | None:
    for candidate in (given, shutil.which("py-spy"), "/tmp/pyspy/bin/py-spy"):  # noqa: S108
        if candidate and Path(candidate).exists():
            return candidate
    return None


# -- the run ------------------------------------------------------------------------------


def spread(values: list[float], digits: int = 2) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}–{max(values):.{digits}f})"
    )


async def run(args: argparse.Namespace) -> None:
    standin = StandIn()
    standin.add_bot(AIGAQ_TOKEN)
    standin.add_bot(ECHO_TOKEN)
    await standin.start()
    results: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="aigaq-intake-http-") as tmp:
        folder = Path(tmp)
        aigaq = start_aigaq(standin, folder / "aigaq")
        echo = start_echo(standin, folder / "echo", limiter=args.echo_limiter)
        try:
            await aigaq.wait_polling(standin.apis[AIGAQ_TOKEN])
            await echo.wait_polling(standin.apis[ECHO_TOKEN])
            # Warm up: the first updates of a process pay for lazy imports and caches.
            await drive(standin, AIGAQ_TOKEN, aigaq, 1, 900_000)
            await drive(standin, ECHO_TOKEN, echo, 1, 900_000)
            print(
                f"stand-in Bot API on 127.0.0.1:{standin.port}; aigaq pid {aigaq.pid}, "
                f"echo pid {echo.pid}; CPU clock: "
                f"{'clock_getcpuclockid' if aigaq.cpu.clock is not None else '/proc ticks'}"
            )
            for rep in range(1, args.runs + 1):
                idle_aigaq, idle_echo = await idle([aigaq, echo], args.idle_seconds)
                results["idle aigaq"].append(idle_aigaq)
                results["idle echo"].append(idle_echo)
                line = [f"run {rep}: idle aigaq {idle_aigaq:5.2f} echo {idle_echo:5.2f} ms/s"]
                for relatives in args.relatives:
                    first = rep * 10_000 + relatives * 100
                    a = await drive(standin, AIGAQ_TOKEN, aigaq, relatives, first)
                    e = await drive(standin, ECHO_TOKEN, echo, relatives, first)
                    if a.walked < relatives or e.walked < relatives:
                        print(f"  run {rep}: only {a.walked}/{relatives} relatives got a case code")
                    for name, d, idle_rate in (("aigaq", a, idle_aigaq), ("echo", e, idle_echo)):
                        results[f"{name} {relatives} gross"].append(d.ms_per_update())
                        results[f"{name} {relatives} net"].append(d.ms_per_update(idle_rate))
                        results[f"{name} {relatives} updates"].append(d.updates)
                        results[f"{name} {relatives} rate"].append(d.updates / d.wall)
                        results[f"{name} {relatives} calls"].append(d.calls / d.updates)
                    results[f"ratio {relatives} gross"].append(
                        a.ms_per_update() / e.ms_per_update()
                    )
                    results[f"ratio {relatives} net"].append(
                        a.ms_per_update(idle_aigaq) / e.ms_per_update(idle_echo)
                    )
                    line.append(
                        f"{relatives} at once: aigaq {a.ms_per_update():5.2f} "
                        f"({a.ms_per_update(idle_aigaq):5.2f} net) echo {e.ms_per_update():5.2f} "
                        f"({e.ms_per_update(idle_echo):5.2f} net) ms/update, "
                        f"{a.updates}+{e.updates} updates in {a.wall:.1f}+{e.wall:.1f} s"
                    )
                print("; ".join(line), flush=True)
            report(results, args)
            if args.profile:
                await profile(args, standin, aigaq, AIGAQ_TOKEN)
                await profile(args, standin, echo, ECHO_TOKEN)
        finally:
            await aigaq.stop()
            await echo.stop()
            await standin.stop()
            if standin.stalls:
                print(f"{standin.stalls} updates got no answer within {PATIENCE:.0f} s")
            if args.keep_logs:
                for bot in (aigaq, echo):
                    shutil.copy(bot.log_path, Path(args.keep_logs) / bot.log_path.name)


def report(results: dict[str, list[float]], args: argparse.Namespace) -> None:
    print(
        f"\nmedian (min–max) of {args.runs} runs; CPU of each bot process, threads included; "
        f"gross = all CPU while the relatives walked, net = minus the idle rate × wall time"
    )
    print(
        f"{'load':<16}{'bot':<8}{'updates':>8}{'updates/s':>11}{'calls/upd':>10}  "
        f"{'gross ms/update':<22}{'net ms/update':<22}"
    )
    for relatives in args.relatives:
        for name in ("echo", "aigaq"):
            key = f"{name} {relatives}"
            print(
                f"{relatives} relative(s)    {name:<8}"
                f"{statistics.median(results[key + ' updates']):>8.0f}"
                f"{statistics.median(results[key + ' rate']):>11.1f}"
                f"{statistics.median(results[key + ' calls']):>10.2f}  "
                f"{spread(results[key + ' gross']):<22}{spread(results[key + ' net']):<22}"
            )
        print(
            f"{'':<16}{'ratio':<8}{'':>29}  {spread(results[f'ratio {relatives} gross']):<22}"
            f"{spread(results[f'ratio {relatives} net']):<22}"
        )
    print(
        f"idle CPU over {args.idle_seconds:.0f} s: aigaq {spread(results['idle aigaq'])} ms/s, "
        f"echo {spread(results['idle echo'])} ms/s"
    )


async def profile(args: argparse.Namespace, standin: StandIn, bot: BotProcess, token: str) -> None:
    """Sample one bot with py-spy while it serves each load once more."""
    py_spy = find_py_spy(args.py_spy)
    if py_spy is None:
        print("\n--profile: py-spy not found (pip install --target /tmp/pyspy py-spy)")
        return
    name = "aigaq" if token == AIGAQ_TOKEN else "echo"
    raw = Path(tempfile.mkdtemp(prefix="aigaq-profile-")) / f"{name}.raw"
    spy = subprocess.Popen(  # noqa: S603, ASYNC220 - py-spy, on our own bot's pid
        [
            py_spy,
            "record",
            "--pid",
            str(bot.pid),
            "--rate",
            str(args.profile_rate),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)
    updates, cpu = 0, 0.0
    for relatives in args.relatives:
        d = await drive(standin, token, bot, relatives, 800_000 + relatives * 100)
        updates += d.updates
        cpu += d.cpu
    spy.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        spy.wait(timeout=30)
    if spy.poll() is None:
        spy.kill()
    print(f"\n{name}: py-spy ({args.profile_rate} samples/s) raw stacks: {raw}")
    summarise_profile(raw, updates, 1000 * cpu)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument(
        "--relatives", type=int, nargs="+", default=[1, 5], help="loads, one after another"
    )
    parser.add_argument("--profile", action="store_true", help="then sample both bots with py-spy")
    parser.add_argument("--profile-rate", type=int, default=250)
    parser.add_argument("--py-spy", help="the py-spy executable")
    parser.add_argument("--keep-logs", help="copy both bots' logs into this folder")
    parser.add_argument(
        "--echo-limiter",
        action="store_true",
        help="give the echo bot the same AIORateLimiter as Aigaq (Telegram's pace for both)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
