"""The status machine: codes and labels from the seeds, and only allowed transitions."""

from __future__ import annotations

import pytest

from jobs.errors import IllegalTransition
from jobs.status import DELETABLE, STOPPABLE, TRANSITIONS, JobStatus, check, predecessors


def test_codes_and_labels_follow_the_monitoring_screen_and_the_batch_log():
    expected = {
        0: ("Queued", "New"),
        1: ("In progress", "Running"),
        2: ("Completed", "Ok"),
        3: ("Stopped", "Incomplete"),
        4: ("Failed", "Error"),
        5: ("Completed with exceptions", "Partial"),
        6: ("Skipped", "Warning"),
        7: ("Suspended", "Suspended"),
    }
    for code, (label, batch) in expected.items():
        assert JobStatus(code).label == label
        assert JobStatus(code).batch_label == batch


def test_finished_jobs_cannot_move_anywhere():
    for status in (
        JobStatus.COMPLETED,
        JobStatus.STOPPED,
        JobStatus.FAILED,
        JobStatus.COMPLETED_WITH_EXCEPTIONS,
        JobStatus.SKIPPED,
    ):
        for target in JobStatus:
            with pytest.raises(IllegalTransition):
                check(status, target)


def test_an_illegal_transition_names_both_statuses():
    with pytest.raises(IllegalTransition, match="from Completed to In progress"):
        check(JobStatus.COMPLETED, JobStatus.IN_PROGRESS)


def test_only_in_progress_jobs_end_and_only_queued_jobs_start():
    assert predecessors(JobStatus.IN_PROGRESS) == {JobStatus.QUEUED}
    # …and a communication rejected by its approver ends Stopped without having started.
    assert predecessors(JobStatus.STOPPED) == {JobStatus.IN_PROGRESS, JobStatus.AWAITING_APPROVAL}
    assert predecessors(JobStatus.COMPLETED) == {JobStatus.IN_PROGRESS}
    assert STOPPABLE == {JobStatus.IN_PROGRESS}
    assert JobStatus.IN_PROGRESS not in DELETABLE
    assert set(TRANSITIONS) == set(JobStatus)


def test_labels_parse_back_to_statuses():
    assert JobStatus.from_label("completed with exceptions") is JobStatus.COMPLETED_WITH_EXCEPTIONS
    assert JobStatus.from_label("Partial") is JobStatus.COMPLETED_WITH_EXCEPTIONS
    assert JobStatus.from_label("3") is JobStatus.STOPPED
    with pytest.raises(ValueError, match="Unknown status"):
        JobStatus.from_label("Finished-ish")
