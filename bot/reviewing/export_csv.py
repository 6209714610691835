"""The CSV export: one row per detained person, Uwazi-style columns, every field of the record.

Columns come from the field catalogue (bot/case.py), so a new question gets a column without
a change here; choices get one label column per written language (`status__kk`). `table_rows()`
are the values as she gave them (the xlsx writes those, as text); `csv_rows()` puts every
cell through `neutralise_formula()` (docs/export.md).
"""

from __future__ import annotations

from typing import Any

from bot.case import DETAINEE_FIELDS, FIELDS, TESTIFIER_FIELDS, describe
from bot.case_upgrade import ASKED_SINCE_2026_11
from bot.i18n import N_, WRITTEN_LOCALES, translate
from bot.models import Case
from bot.reviewing.export_facts import PROVENANCE, uwazi_date
from bot.reviewing.export_policy import disclosed, neutralise_formula
from bot.services.answers import show_hidden

CASE_COLUMNS = ["title", "case_code", "submitted", "case_language", "case_status", "grade"]
# The payload's consent, as the CSV names it.
CONSENT_COLUMNS = {
    "contact": "consent_contact",
    "sharing": "consent_sharing",
    "subscribe": "consent_subscribe",
    "un_submission": "consent_un_submission",
    "un_name_disclosed": "consent_un_name_disclosed",
    "text_version": "consent_text_version",
    "agreed_on": "consent_agreed_on",
}
DATE_COLUMNS = {
    "birth_year": ["birth_year", "birth_year_precision"],
    "detained": ["detained_year", "detained_month", "detained_day"],
}
# Earlier names kept for partners' imports.
RENAMED = {"name": "title", "name_alt": "name_other_script"}
NOT_ASKED = N_("Not asked")
CHOICES = [name for name in (*TESTIFIER_FIELDS, *DETAINEE_FIELDS) if FIELDS[name].options]


def column_of(field: str) -> str:
    """The column that carries a field of the record (its English label for a choice)."""
    if field in CHOICES:
        return f"{field}__en"
    if field in DATE_COLUMNS:
        return DATE_COLUMNS[field][0]
    return RENAMED.get(field, field)


CSV_FIELDS = [
    *CASE_COLUMNS,
    *(column_of(f) for f in TESTIFIER_FIELDS if f not in CHOICES),
    *(
        column
        for f in DETAINEE_FIELDS
        if f not in CHOICES and f != "name"
        for column in DATE_COLUMNS.get(f, [column_of(f)])
    ),
    # Worked out by the team (bot/reviewing/export_facts.py), never her words.
    "name_pinyin",
    "id_number_check",
    # Dates as Uwazi imports them: YYYY-MM-DD, or a from:to range for a month, year or decade.
    "birth_date_uwazi",
    "detained_date_uwazi",
    "narrative",
    "attachments",
    "attachments_provenance",
    # This person's follow-ups: "day: question = answers [confirmed: elements]", `|`-joined.
    "followups",
    "followups_confirmed",
    *CONSENT_COLUMNS.values(),
    "person_number",
    *(f"{f}__{code}" for f in CHOICES for code in WRITTEN_LOCALES),
]


def _cell(field: str, value: Any) -> str:
    return describe(field, value, "en")


def _date_cells(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return ["", "", ""]
    return [str(value.get(part) or "") for part in ("year", "month", "day")]


def csv_rows(
    case: Case, payload: dict[str, Any], *, internal: bool = False
) -> list[dict[str, str]]:
    """The CSV's rows: `table_rows()`, every cell through `neutralise_formula()`."""
    return [
        {column: neutralise_formula(cell) for column, cell in row.items()}
        for row in table_rows(case, payload, internal=internal)
    ]


def table_rows(
    case: Case, payload: dict[str, Any], *, internal: bool = False
) -> list[dict[str, str]]:
    """One row per detainee, the CSV_FIELDS in order, as she gave them (not neutralised;
    hidden characters shown as ‹U+202E›); multi-values joined with `|`; labels in kk, ru
    and en."""
    payload = disclosed(payload, internal)
    testifier = payload.get("testifier", {})
    consent = payload.get("consent", {})
    narrative = "|".join(_cell("narrative", piece) for piece in payload.get("narrative", []))
    table = []
    for number, person in enumerate(payload.get("detainees", []), start=1):
        # Uwazi needs a title: a withheld name becomes the case code and the person's number.
        row = {
            "title": _cell("name", person.get("name")) if "name" in person else "",
            "case_code": case.code,
            "submitted": str(payload.get("submitted_at", "")),
            "case_language": str(payload.get("locale", "")),
            "case_status": case.status.value,
            "grade": case.grade,
            "narrative": narrative,
            "attachments": "|".join(str(a.get("sha256")) for a in payload.get("attachments", [])),
            "attachments_provenance": _provenance(payload.get("attachments", [])),
            "person_number": str(number),
            "name_pinyin": str(person.get("name_pinyin", "")),
            "id_number_check": str(person.get("id_check", "")),
            "birth_date_uwazi": uwazi_date(person.get("birth_year")),
            "detained_date_uwazi": uwazi_date(person.get("detained")),
            **_followups(payload.get("followups", []), number),
        }
        row["title"] = row["title"] or f"{case.code}/{number}"
        for name in TESTIFIER_FIELDS + DETAINEE_FIELDS:
            value = (testifier if name in TESTIFIER_FIELDS else person).get(name)
            if name in ASKED_SINCE_2026_11 and name not in person and name in CHOICES:
                for code in WRITTEN_LOCALES:
                    row[f"{name}__{code}"] = translate(code, NOT_ASKED)
            elif name in ASKED_SINCE_2026_11 and name not in person:
                row[column_of(name)] = translate("en", NOT_ASKED)
            elif name == "relation" and value is None:
                # Sealed before relation was asked per person (bot/case_upgrade.py).
                for code in WRITTEN_LOCALES:
                    row[f"relation__{code}"] = translate(code, NOT_ASKED)
            elif name in CHOICES:
                for code in WRITTEN_LOCALES:
                    row[f"{name}__{code}"] = describe(name, value, code)
            elif name == "birth_year":
                birth = value if isinstance(value, dict) else {}
                row["birth_year"] = _date_cells(value)[0]
                row["birth_year_precision"] = str(birth.get("precision", ""))
            elif name == "detained":
                cells = _date_cells(value)
                row.update(zip(DATE_COLUMNS["detained"], cells, strict=True))
            elif name != "name":
                row[column_of(name)] = _cell(name, value)
        for key, column in CONSENT_COLUMNS.items():
            row[column] = "" if key not in consent else str(consent[key]).lower()
        # A bidi override or zero-width character that survived in free text is shown, never
        # left to reorder or hide a cell in the spreadsheet a partner opens.
        table.append({column: show_hidden(row.get(column, "")) for column in CSV_FIELDS})
    return table


def _provenance(files: list[dict[str, Any]]) -> str:
    """Each file's provenance a partner may see (the policy applied): "sha256 key=value…"."""
    cells = []
    for item in files:
        given = [f"{key}={item[key]}" for key in PROVENANCE if item.get(key)]
        if given:
            cells.append(" ".join([str(item.get("sha256")), *given]))
    return "|".join(cells)


def _followups(followups: list[dict[str, Any]], number: int) -> dict[str, str]:
    """This person's follow-ups (never another's, nor one asked before persons were named)."""
    asked: list[str] = []
    confirmed: list[str] = []
    for item in followups:
        if item.get("person") != number:
            continue
        answers = [
            str(a["text"]) if "text" in a else f"{a.get('kind')}:{a.get('sha256')}"
            for a in item.get("answers", [])
        ]
        question = str(item.get("question", ""))
        asked.append(f"{item.get('asked_on', '')}: {question} = " + " / ".join(answers))
        confirmed.extend(str(e) for e in item.get("confirmed", []))
    return {"followups": "|".join(asked), "followups_confirmed": "|".join(sorted(set(confirmed)))}
