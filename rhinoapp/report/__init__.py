"""The clinician's report: one PDF per project, from the Analysis page and ``rhinoapp report``.

:func:`~rhinoapp.report.content.gather_report` reads what the project holds,
:func:`~rhinoapp.report.pdf.report_pdf` lays it out (pictures first, two to four pages);
:mod:`~rhinoapp.report.figures` draws the plots, also for the Python API. This layer sits above
``jobs``/``render`` (it uses the offscreen pictures) and below ``state``.
"""

from __future__ import annotations

from rhinoapp.report.content import ReportContent, gather_report
from rhinoapp.report.pdf import report_pdf
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository

__all__ = ["ReportContent", "gather_report", "project_report", "report_pdf"]


def project_report(repo: ProjectRepository, project_id: str, *, jobs: JobStore | None = None,
                   run_id: str | None = None, pictures: bool = True) -> bytes:
    """The PDF bytes of ``project_id``'s report: its newest simulation run (or ``run_id``) and 4PR measurement."""
    return report_pdf(gather_report(repo, project_id, jobs=jobs, run_id=run_id), pictures=pictures)
