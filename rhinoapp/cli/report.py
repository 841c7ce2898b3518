"""``rhinoapp report PROJECT --out FILE.pdf``: the clinician's report of a project as a PDF."""

from __future__ import annotations

import argparse
from pathlib import Path

from rhinoapp.cli._common import find_project, out, settings_from

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``report`` command."""
    report = commands.add_parser("report", parents=[shared], help="write the clinician's PDF report of a project",
                                 description="The case, its CT and airway, the airflow (pressure, wall shear stress, "
                                             "results beside healthy ranges), the 4PR measurement against the "
                                             "simulation, and the methods, in two to four pages.")
    report.add_argument("project", help="project name or id")
    report.add_argument("--out", type=Path, required=True, metavar="FILE.pdf", help="the PDF file to write")
    report.add_argument("--run", help="the simulation run to report (default: the newest)")
    report.add_argument("--no-pictures", action="store_true", help="leave out the 3D pictures (no offscreen OpenGL)")
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from rhinoapp.core.files import atomic_write
    from rhinoapp.report import gather_report, report_pdf
    from rhinoapp.store.database import open_store
    from rhinoapp.store.jobs import JobStore
    from rhinoapp.store.repository import ProjectRepository

    settings = settings_from(args)
    store = open_store(settings)
    try:
        repo = ProjectRepository(store, owner=settings.user)
        project_id = find_project(repo, args.project)
        content = gather_report(repo, project_id, jobs=JobStore(store), run_id=args.run)
        pdf = report_pdf(content, pictures=not args.no_pictures)
    finally:
        store.close()
    atomic_write(Path(args.out), pdf)
    out(f"report of {content.project.name} ({content.pseudonym}) written to {args.out}")
    for line in content.missing:
        out(f"  missing: {line}")
    return 0
