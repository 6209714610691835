"""One field policy, default deny: every field of a case has a row, and nothing else leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from bot.case import CasePayload
from bot.reviewing.export_policy import (
    ADDED_BY_EXPORT,
    LEVELS,
    POLICY,
    allowed,
    disclosed,
    policy_table,
)

DOC = Path(__file__).parent.parent / "docs/export.md"
EVERY_LEVEL = ("team", *LEVELS)
# Where a message came from, as a later version of the bot might keep it: no row, so it stays.
PROVENANCE = {"forwarded_from": "Channel @someone", "caption": "sent by my cousin in Ghulja"}


def fields_of(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field of a model, a nested record's (or a list of records') as `part.field`."""
    paths = []
    for name, info in model.model_fields.items():
        inner = info.annotation
        if get_origin(inner) is list:
            [inner] = get_args(inner)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            paths += fields_of(inner, f"{prefix}{name}.")
        else:  # a value: an answer (text, words, a date, a voice), a story's pieces
            paths.append(prefix + name)
    return paths


def test_every_field_of_a_case_has_a_policy_row_and_every_row_a_field() -> None:
    fields = fields_of(CasePayload)
    assert "detainees.name" in fields and "consent.un_name_disclosed" in fields
    assert [path for path in fields if path not in POLICY] == []
    assert [path for path in POLICY if path not in fields and path not in ADDED_BY_EXPORT] == []


def full_case(level: str) -> dict[str, Any]:
    """A case's JSON with every field of the record filled in, at this consent level."""
    case: dict[str, Any] = {"testifier": {}, "detainees": [{}], "consent": {}}
    for path in fields_of(CasePayload):
        part, _, name = path.partition(".")
        if not name:
            case[part] = [{"text": "what happened"}] if part == "narrative" else f"<{part}>"
        elif part in ("evidence", "attachments"):
            case.setdefault(part, [{}])[0][name] = "photo-1" if name == "uid" else f"<{path}>"
        elif part == "detainees":
            case[part][0][name] = f"<{path}>"
        else:
            case[part][name] = f"<{path}>"
    for path in sorted(ADDED_BY_EXPORT):  # what an export adds: the team's, the follow-ups
        part, _, name = path.partition(".")
        case.setdefault(part, [{}])[0][name] = f"<{path}>"
    case["consent"]["sharing"] = level
    return case


def paths_in(case: dict[str, Any]) -> set[str]:
    found = set()
    for name, value in case.items():
        items = value if isinstance(value, list) and name != "narrative" else [value]
        for item in items:
            if isinstance(item, dict):
                found |= {f"{name}.{field}" for field in item}
            else:
                found.add(name)
    return found


@pytest.mark.parametrize("level", EVERY_LEVEL)
def test_a_partner_export_carries_exactly_what_the_policy_allows_at_her_level(
    level: str,
) -> None:
    case = full_case(level)
    assert paths_in(case) == set(POLICY)
    expected = {path for path, levels in POLICY.items() if level in levels}
    assert paths_in(disclosed(case, internal=False)) == expected
    assert allowed(case, internal=False) == (level != "team")
    assert disclosed(case, internal=True) == case
    assert allowed(case, internal=True)


@pytest.mark.parametrize("level", EVERY_LEVEL)
def test_a_field_without_a_row_never_leaves_in_a_partner_export(level: str) -> None:
    case = full_case(level)
    case.update(PROVENANCE)
    for part in ("testifier", "consent"):
        case[part].update(PROVENANCE)
    for part in ("detainees", "evidence", "attachments"):
        case[part][0].update(PROVENANCE)
    kept = disclosed(case, internal=False)
    assert "forwarded_from" not in repr(kept) and "cousin" not in repr(kept)
    assert "cousin" in repr(disclosed(case, internal=True))


def test_a_file_no_kept_answer_names_stays_even_where_its_fields_may_go() -> None:
    case = full_case("publish_named")
    case["attachments"].append({"uid": "voice-of-her-name", "kind": "voice", "sha256": "ab"})
    case["testifier"]["own_name"] = {"voice": "voice-of-her-name"}
    kept = disclosed(case, internal=False)
    assert [item["uid"] for item in kept["attachments"]] == ["photo-1"]


def test_the_documented_table_is_the_policy() -> None:
    assert policy_table() in DOC.read_text(encoding="utf-8")
