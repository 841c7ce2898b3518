"""What a new CT or 4PR measurement makes outdated: the question a replacement asks before it stores.

A project's CT feeds the segmentation (geometry), which feeds the simulations, which feed the
analysis; the latest 4PR measurement feeds the analysis's comparison. Storing a new CT where one
exists, or a new measurement where one exists, leaves what was made from the old one outdated.
:func:`replacement_of` says what exists and what would become outdated; the CT page, the 4PR page,
``rhinoapp import`` and ``rhinoapp rhinomanometry --project`` ask for a confirmation with it (a
flag, ``replace=True``) before they store; :func:`check_replace` is the rule they share.
"""

from __future__ import annotations

import dataclasses

from rhinoapp.core.errors import ConflictError, ValidationError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.store.repository import ArtifactInfo, ProjectRepository

__all__ = ["Replacement", "ReplaceRefused", "check_replace", "replacement_of"]

_WHAT = {Step.DICOM: "CT", Step.RHINOMANOMETRY: "4PR measurement"}


class ReplaceRefused(ConflictError):
    """A new CT or 4PR measurement would replace the project's current one, which was not confirmed."""


@dataclasses.dataclass(frozen=True)
class Replacement:
    """What storing a new input of ``step`` replaces (``current``) and makes outdated (``outdated``), in words.

    Examples
    --------
    >>> r = Replacement(Step.DICOM, current="a CT", outdated=("the airway geometry", "2 simulation runs"))
    >>> r.question
    'This project already has a CT. Replacing it makes the airway geometry and 2 simulation runs outdated (they were made from the current CT).'
    >>> Replacement(Step.DICOM, current="a CT").question
    'This project already has a CT. Nothing was made from it yet.'
    """

    step: Step
    current: str
    outdated: tuple[str, ...] = ()

    @property
    def question(self) -> str:
        """The sentence asking for the confirmation: what exists and what becomes outdated."""
        what = _WHAT[self.step]
        head = f"This project already has {self.current}."
        if not self.outdated:
            if self.step is Step.DICOM:
                return f"{head} Nothing was made from it yet."
            return f"{head} A new one becomes the latest; the earlier ones are kept."
        items = list(self.outdated)
        listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
        verb = "Replacing it makes" if self.step is Step.DICOM else "A new one becomes the latest and makes"
        return f"{head} {verb} {listed} outdated (they were made from the current {what})."


def _runs(artifacts: list[ArtifactInfo]) -> int:
    return len({run for a in artifacts if (run := ProjectLayout.results_run_of(a.name)) is not None})


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def replacement_of(repo: ProjectRepository, project_id: str, step: Step) -> Replacement | None:
    """What storing a new input of ``step`` (DICOM or 4PR) would replace; None when the project has none yet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> pid = repo.create("Case 9").id
    >>> replacement_of(repo, pid, Step.DICOM) is None
    True
    >>> _ = repo.write_artifacts(pid, Step.DICOM, {"volume/ct.nii.gz": b"1", "volume/ct.json": b"{}"})
    >>> _ = repo.write_artifacts(pid, Step.GEOMETRY, {"geometry/default/labels.nii.gz": b"2"})
    >>> replacement_of(repo, pid, Step.DICOM).outdated
    ('the segmentation and airway geometry',)
    """
    if step not in _WHAT:
        raise ValidationError(f"{step.label} is no input that can be replaced; use DICOM or 4PR.")
    artifacts = repo.artifacts(project_id)
    by_step: dict[Step | None, list[ArtifactInfo]] = {}
    for artifact in artifacts:
        by_step.setdefault(artifact.step, []).append(artifact)
    if not by_step.get(step):
        return None
    runs = _runs(by_step.get(Step.SIMULATION, []))
    outdated: list[str] = []
    if step is Step.DICOM:
        current = "a CT"
        if by_step.get(Step.GEOMETRY):
            outdated.append("the segmentation and airway geometry")
        if runs:
            outdated.append(_plural(runs, "simulation run"))
        if by_step.get(Step.ANALYSIS) or (runs and by_step.get(Step.RHINOMANOMETRY)):
            outdated.append("the analysis (simulation beside 4PR)")
    else:
        count = len({m for a in by_step[step] if (m := ProjectLayout.measurement_of(a.name)) is not None})
        current = _plural(count, "4PR measurement")
        if runs or by_step.get(Step.ANALYSIS):
            outdated.append("the analysis (simulation beside 4PR), which uses the latest measurement")
    return Replacement(step, current, tuple(outdated))


def check_replace(repo: ProjectRepository, project_id: str, step: Step, *, replace: bool) -> Replacement | None:
    """Refuse to store a new input of ``step`` over an existing one unless ``replace``; returns what is replaced.

    Raises
    ------
    ReplaceRefused
        When the project already has one and ``replace`` is False; the message says what would
        become outdated and how to confirm.
    """
    found = replacement_of(repo, project_id, step)
    if found is not None and not replace:
        raise ReplaceRefused(f"{found.question} Nothing was stored: confirm the replacement to store it "
                             "(on the page, or with --replace on the command line).")
    return found
