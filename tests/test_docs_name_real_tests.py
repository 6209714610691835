"""Every test docs/sealing.md and docs/data.md name as the proof of a row exists: a row whose
test was renamed or deleted would otherwise promise something nothing checks."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# `tests/test_x.py::test_y`, or `::test_z` for another test of the file named before it.
REFERENCE = re.compile(r"(tests/[\w/]+\.py)?::(test_\w+)|`(tests/[\w/]+\.py)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


@pytest.mark.parametrize("doc", ["docs/sealing.md", "docs/data.md", "README.md"])
def test_every_test_a_document_names_exists(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    missing, current = [], None
    for match in REFERENCE.finditer(text):
        named_file, test, bare_file = match.groups()
        if bare_file:
            current = bare_file
            if not (ROOT / bare_file).exists():
                missing.append(bare_file)
            continue
        current = named_file or current
        if (
            current is None
            or not (ROOT / current).exists()
            or test not in _tests_in(ROOT / current)
        ):
            missing.append(f"{current}::{test}")
    assert not missing, f"{doc} names tests that do not exist: {missing}"
