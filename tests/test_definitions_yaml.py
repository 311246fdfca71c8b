"""YAML export and import: the text round-trips exactly; a file with any problem is refused
whole with messages naming the definition, the field and the line; a dry run writes nothing;
a known name is updated and its history says "imported"."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jobs.definitions.yaml_io import InvalidDefinitionFile
from jobs.errors import NotFound, PermissionDenied
from jobs.models import Definition, DefinitionChange, DefinitionStep
from jobs.seed import demo_definitions
from tests.definitions_support import clear_definitions, empty_definitions, report_then_email


@pytest.fixture
def defs(db, service):
    yield from empty_definitions(db, service)


def _counts(db) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m))
            for m in (Definition, DefinitionStep, DefinitionChange)
        )


def _seed_demo(defs) -> None:  # type: ignore[no-untyped-def]
    for spec in demo_definitions():
        defs.create("admin", spec)


def test_export_then_import_into_an_empty_database_gives_the_same_text(defs, db):
    _seed_demo(defs)
    exported = defs.export_yaml("alice")
    assert exported.startswith("definitions:\n- name: Daily call report\n")
    assert "  body: |\n" in exported  # an email's message reads as written

    clear_definitions(db)
    result = defs.import_yaml("admin", exported)

    assert sorted(result.created) == sorted(s.name for s in demo_definitions())
    assert defs.export_yaml("bob") == exported
    invoicer = defs.definition_detail("admin", "Invoicer")
    assert invoicer.depends_on == ["Invoice pre-check"]
    assert not defs.definition_detail("admin", "Monthly agent report (retired)").enabled
    # Imported again: nothing changes, nothing is written
    before = _counts(db)
    again = defs.import_yaml("admin", exported)
    assert again.unchanged == result.created and not again.created and not again.updated
    assert _counts(db) == before


def test_importing_a_known_name_updates_it_and_the_history_says_imported(defs):
    made = defs.create("admin", report_then_email())
    text = defs.export_yaml("admin", [made.name]).replace("'18:00'", "'19:30'")

    result = defs.import_yaml("admin", text)

    assert result.updated == [made.name]
    assert result.changes[made.name] == {"schedule_options": [{"at": "18:00"}, {"at": "19:30"}]}
    detail = defs.definition_detail("admin", made.id)
    assert detail.schedule_options == {"at": "19:30"} and detail.version == 2
    change = defs.definition_history("admin", made.id).changes[0]
    assert (change.action, change.actor) == ("imported", "Ada Admin")
    assert change.summary == "Imported: schedule_options"


def test_a_dry_run_says_what_would_change_and_writes_nothing(defs, db):
    made = defs.create("admin", report_then_email())
    text = defs.export_yaml("admin").replace("ops@example.com", "boss@example.com")
    text += text.split("definitions:\n", 1)[1].replace("Daily call report", "Nightly report")
    before = _counts(db)

    result = defs.import_yaml("admin", text, dry_run=True)

    assert result.dry_run and result.created == ["Nightly report"]
    assert result.updated == [made.name]
    assert list(result.changes[made.name]) == ["steps[Email].settings"]
    assert _counts(db) == before


def test_a_file_with_problems_is_refused_whole_naming_definition_field_and_line(defs, db):
    defs.create("admin", report_then_email("Existing"))
    text = """\
definitions:
- name: Good one
  trigger: scheduled
  schedule: hourly
  steps:
  - name: Report
    kind: report
    settings: {report: call}
- name: Bad one
  trigger: scheduled
  schedule: end_of_day
  colour: blue
  steps:
  - name: Report
    kind: report
    settings: {report: call}
    next_failure: Mail
- name: Existing
  trigger: campaign
  depends_on: [Nobody]
  steps:
  - name: Mail
    kind: email
    settings:
      recipients: [not-an-address]
"""
    before = _counts(db)
    with pytest.raises(InvalidDefinitionFile) as caught:
        defs.import_yaml("admin", text)
    problems = {(p.definition, p.field): (p.line, p.message) for p in caught.value.problems}

    assert problems[("Bad one", "colour")][0] == 12
    assert _counts(db) == before  # "Good one" was not written either
    assert str(caught.value).startswith("Nothing was imported; ")
    # Without the unknown field, the rules speak, with their lines
    with pytest.raises(InvalidDefinitionFile) as caught:
        defs.import_yaml("admin", text.replace("  colour: blue\n", ""))
    problems = {(p.definition, p.field): (p.line, p.message) for p in caught.value.problems}
    assert problems[("Bad one", "steps[0].next_failure")][0] == 16
    assert problems[("Bad one", "steps[0].next_failure")][1].startswith("No step named 'Mail'")
    assert problems[("Existing", "depends_on[0]")] == (
        19,
        "There is no definition called 'Nobody'",
    )
    assert problems[("Existing", "steps[0].settings.recipients")][0] == 24
    assert "line 16, definition 'Bad one', steps[0].next_failure: No step named" in str(
        caught.value
    )
    assert _counts(db) == before


def test_two_campaign_definitions_in_one_file_are_refused(defs):
    one = report_then_email("EOC one", trigger="campaign")
    two = report_then_email("EOC two", trigger="campaign")
    from jobs.definitions.yaml_io import dump

    with pytest.raises(InvalidDefinitionFile) as caught:
        defs.import_yaml("admin", dump([one, two]))
    messages = [str(p) for p in caught.value.problems]
    assert any("only one campaign definition" in m and "EOC" in m for m in messages)


def test_definitions_of_one_file_may_depend_on_each_other_in_any_order(defs):
    pre = report_then_email("Pre-check")
    main = report_then_email("Invoicer", depends_on=["Pre-check"])
    from jobs.definitions.yaml_io import dump

    result = defs.import_yaml("admin", dump([main, pre]))

    assert result.created == ["Invoicer", "Pre-check"]
    assert defs.definition_detail("admin", "Invoicer").depends_on == ["Pre-check"]
    assert [c.action for c in defs.definition_history("admin", "Invoicer").changes] == ["imported"]


def test_a_dependency_cycle_made_by_the_file_is_refused(defs):
    from jobs.definitions.yaml_io import dump

    defs.create("admin", report_then_email("A"))
    defs.create("admin", report_then_email("B", depends_on=["A"]))
    with pytest.raises(InvalidDefinitionFile, match="A → B → A"):
        defs.import_yaml("admin", dump([report_then_email("A", depends_on=["B"])]))


def test_yaml_that_does_not_parse_says_where(defs):
    with pytest.raises(InvalidDefinitionFile) as caught:
        defs.import_yaml("admin", "definitions:\n- name: [unclosed\n")
    (problem,) = caught.value.problems
    assert problem.line == 3 and "not valid YAML" in problem.message
    with pytest.raises(InvalidDefinitionFile, match="a list called 'definitions'"):
        defs.import_yaml("admin", "- just a list\n")
    with pytest.raises(InvalidDefinitionFile, match="this name twice"):
        defs.import_yaml("admin", "definitions:\n- {name: X}\n- {name: X}\n")


def test_only_admins_import_and_everyone_exports(defs):
    defs.create("admin", report_then_email())
    text = defs.export_yaml("carol")
    with pytest.raises(PermissionDenied):
        defs.import_yaml("carol", text, dry_run=True)
    with pytest.raises(NotFound, match="no definition called 'Nope'"):
        defs.export_yaml("carol", ["Nope"])
