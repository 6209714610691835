"""What the console hands the browser as files: attachments streamed from memory, exports and
UN drafts written to a temporary folder that goes once sent, or when making it fails."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot.crypto import CryptoError
from bot.reviewing.bundle import ExportError
from bot.reviewing.cases import ReviewError
from bot.reviewing.clean import CleaningError, passes, type_of, working_copy
from bot.reviewing.console.media import disposition, extension, media_type
from bot.reviewing.console.pages import Console
from bot.reviewing.export import Report, export
from bot.reviewing.un import draft_case

EXPORT_NAMES = {
    "csv": "cases.csv",
    "xlsx": "cases.xlsx",
    "jsonl": "cases.jsonl",
    "bundle": "evidence.zip",
}


class ScratchFileResponse(FileResponse):
    """A file in a temporary folder of its own; the folder goes once sent, even if sending fails."""

    def __init__(self, folder: Path, path: Path) -> None:
        super().__init__(path, filename=path.name)
        self.folder = folder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


async def in_scratch_folder(
    prefix: str, write: Callable[[Path], Awaitable[Path]]
) -> ScratchFileResponse:
    """`write` a file into a new temporary folder and send it; no plaintext stays behind."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return ScratchFileResponse(folder, await write(folder))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def file_routes(console: Console) -> list[Route]:
    """Attachments, exports and UN drafts."""

    async def attachment(request: Request) -> Response:
        reviewer = console.reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        uid = request.path_params["uid"]
        reader = reviewer.attachment(uid)
        try:
            meta = await reader.meta()
            record = await reader.record()
            stream = reader.stream()
            first = await anext(stream)
        except (ReviewError, CryptoError):
            return Response(status_code=404)

        shown = media_type(first, meta.kind)
        safe = re.sub(r"[^0-9a-zA-Z]", "", uid)
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        # Her written answers are text, always shown as text; files are cleaned by type.
        cleaned = meta.kind != "text" and not passes(type_of(first))
        if cleaned and request.query_params.get("original") != "1":
            # What she reads is a working copy without metadata (bot/reviewing/clean.py);
            # `?original=1` downloads the sealed original, the evidentiary copy.
            whole = first + b"".join([part async for part in stream])
            try:
                copy = await asyncio.to_thread(working_copy, whole)
            except CleaningError as exc:
                return console.message(
                    request, f"{exc}: download the original to look at it", status_code=422
                )
            return Response(
                copy,
                media_type=shown,
                headers=headers | {"Content-Disposition": disposition(shown, safe)},
            )
        if request.query_params.get("original") == "1":
            headers["Content-Disposition"] = (
                f'attachment; filename="aigaq-{safe[:16]}-original{extension(shown)}"'
            )

        async def body() -> Any:
            yield first
            async for part in stream:
                yield part

        # The guard adds `Content-Security-Policy: …; sandbox` to every /file/ response.
        return StreamingResponse(
            body(),
            media_type=shown,
            headers={
                "Content-Length": str(record.size),
                "Content-Disposition": disposition(shown, safe),
            }
            | headers,
        )

    async def download(request: Request) -> Response:
        reviewer = console.reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        try:
            values = await console.form(request)
        except PermissionError as exc:
            return console.message(request, str(exc), status_code=403)
        fmt = values.get("format", "csv")
        name = EXPORT_NAMES.get(fmt)
        if name is None:
            return Response(status_code=400)

        report: list[Report] = []

        async def write(folder: Path) -> Path:
            internal = values.get("internal") == "1"
            report.append(await export(reviewer, folder / name, fmt, internal=internal))
            return folder / name

        try:
            sent = await in_scratch_folder("aigaq-export-", write)
        except ExportError as exc:
            return console.message(request, str(exc))
        # "N cases exported; M excluded: K not verified, J consent: team only" (issue 19): an
        # export with nothing in it is that line, never an empty file with no word of why.
        if report and not report[0].exported:
            shutil.rmtree(sent.folder, ignore_errors=True)
            return console.message(request, report[0].summary())
        return sent

    async def draft(request: Request) -> Response:
        """The UN Working Group draft (.odt) for one person, made here, nothing sent."""
        reviewer = console.reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        code = request.path_params["code"]
        try:
            values = await console.form(request)
            person = int(values.get("person", "1") or 1)
        except (PermissionError, ValueError) as exc:
            return console.message(request, str(exc), status_code=403)

        async def write(folder: Path) -> Path:
            return await draft_case(
                reviewer, code, person, lambda canonical: folder / f"wgeid-{canonical}-{person}.odt"
            )

        try:
            return await in_scratch_folder("aigaq-wgeid-", write)
        except (ReviewError, PermissionError, ValueError) as exc:
            return console.message(request, str(exc))

    return [
        Route("/file/{uid}", attachment),
        Route("/export", download, methods=["POST"]),
        Route("/case/{code}/wgeid", draft, methods=["POST"]),
    ]
