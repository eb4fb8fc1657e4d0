"""Statuses and kinds are enums in the code and plain strings in the database and the API."""

from __future__ import annotations

from typing import get_args

from app import models
from app.api import schemas


def test_the_schema_offers_exactly_the_section_statuses_the_code_knows() -> None:
    assert set(get_args(schemas.SectionStatus)) == {s.value for s in models.SectionStatus}


def test_an_invitation_step_of_the_log_is_named_as_the_status_it_leaves() -> None:
    """Answering an invitation logs the step named as its new status (`app.invitations`)."""
    settled = set(models.InvitationStatus) - {models.InvitationStatus.PENDING}
    assert {models.SharingEventKind(status) for status in settled} <= models.INVITATION_STEPS
