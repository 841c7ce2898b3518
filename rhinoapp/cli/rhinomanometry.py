"""``rhinoapp rhinomanometry FILE [--json OUT]``: 4PR parameters of a recording."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rhinoapp.cli._common import repository, out

if TYPE_CHECKING:
    from rhinoapp.rhinomanometry.request import PreparedUpload

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``rhinomanometry`` command."""
    rhino = commands.add_parser("rhinomanometry", help="compute 4PR parameters of a rhinomanometry CSV file",
                                parents=[shared])
    rhino.add_argument("file", type=Path, help="recording in rhinoapp's 4PR CSV format (or a tolerated variant)")
    rhino.add_argument("--json", type=Path, dest="json_out", help="also write all parameters as JSON to this file")
    rhino.add_argument("--project", help="also store the recording and its parameters in this project (name or id)")
    rhino.add_argument("--replace", action="store_true",
                       help="with --project: store it where the project has a measurement (it becomes the latest, "
                            "the analysis uses it; refused without it)")
    rhino.set_defaults(handler=_rhinomanometry)


def _format_value(value: object, unit: str) -> str:
    number = getattr(value, "value", value)
    if number is None:
        return f"not reached ({getattr(value, 'reason', '')})" if getattr(value, "reason", "") else "n/a"
    return f"{number:.3f} {unit}"


def _rhinomanometry(args: argparse.Namespace) -> int:
    from rhinoapp.core.errors import ValidationError
    from rhinoapp.core.files import atomic_write
    from rhinoapp.core.jsonable import json_bytes
    from rhinoapp.rhinomanometry.request import FourPRImportRequest, prepare_import

    path = Path(args.file)
    if not path.is_file():
        raise ValidationError(f"{path} is not a file; give the recording's CSV, text or Excel export.")
    request = FourPRImportRequest(filename=path.name, content=path.read_bytes())
    prepared = prepare_import(request)
    result = prepared.result
    for side in result.sides:
        out(f"{side.side.value} side: {len(side.breaths)} breath(s)")
        for name, unit in (("r75", "Pa·s/ml"), ("r150", "Pa·s/ml"), ("vr", "Pa·s/ml"), ("reff", "Pa·s/ml")):
            out(f"  {name.upper():<6} {_format_value(side.mean(name), unit)}")
        if side.rohrer is not None:
            out(f"  Rohrer K1 {side.rohrer.k1:.4g} Pa·s/ml, K2 {side.rohrer.k2:.4g} Pa·s²/ml²")
    out(f"total R150 {_format_value(result.total.r150, 'Pa·s/ml')}")
    if args.json_out is not None:
        atomic_write(args.json_out, json_bytes(result.as_dict()))
        out(f"parameters written to {args.json_out}")
    if args.project is not None:
        _store(args, prepared)
    return 0


def _store(args: argparse.Namespace, prepared: PreparedUpload) -> None:
    from rhinoapp.cli._common import find_project, settings_from
    from rhinoapp.store.database import open_store
    from rhinoapp.usecases.rhinomanometry import store_4pr

    settings = settings_from(args)
    store = open_store(settings)
    try:
        repo = repository(store, settings)
        project_id = find_project(repo, args.project)
        mid = store_4pr(repo, project_id, prepared, replace=args.replace)
        out(f"stored as measurement {mid} of project {repo.get(project_id).name}")
    finally:
        store.close()
