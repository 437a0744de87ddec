"""Every list in a request has a maximum length (bad input that costs memory): a rank order
list ranks at most MAX_ROL_ENTRIES (a static cap above any season's number of tracks or
applicants, M1), a program patch at most 10 tracks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from match.schemas import MAX_ROL_ENTRIES, ApplicantRolIn, TrackRolIn
from registration.schemas import ProgramPatch


@pytest.mark.parametrize("model,field", [(ApplicantRolIn, "tracks"), (TrackRolIn, "applicants")])
def test_a_rank_order_list_is_capped(model, field):
    assert len(getattr(model.model_validate({field: ["1011"] * MAX_ROL_ENTRIES}), field)) == MAX_ROL_ENTRIES
    with pytest.raises(ValidationError) as refused:
        model.model_validate({field: ["1011"] * (MAX_ROL_ENTRIES + 1)})
    [error] = refused.value.errors()
    assert error["loc"] == (field,) and error["type"] == "too_long"
    with pytest.raises(ValidationError):  # one entry cannot carry a megabyte either
        model.model_validate({field: ["1" * 65]})


def test_a_program_patch_changes_at_most_ten_tracks():
    track = {"track_code": "1011", "name": "Surgery", "positions": 2}
    with pytest.raises(ValidationError) as refused:
        ProgramPatch.model_validate({"tracks": [track] * 11})
    assert refused.value.errors()[0]["loc"] == ("tracks",)
