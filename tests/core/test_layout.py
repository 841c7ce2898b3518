"""ProjectLayout: every artifact path of the package comes from it; names round-trip."""

from __future__ import annotations

import ast
import re
from pathlib import Path, PurePosixPath

import pytest

import rhinoapp
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.layout import ProjectLayout

PACKAGE = Path(rhinoapp.__file__).parent
LAYOUT_MODULE = PACKAGE / "core" / "layout.py"
_LAYOUT = ProjectLayout()
_RUN = _LAYOUT.simulation("r")
_GEOMETRY = _LAYOUT.geometry("v")
_MEASUREMENT = _LAYOUT.measurement("m")
#: The file names the layout defines, and the folders it puts them in.
FILE_NAMES = sorted({p.name for p in (_LAYOUT.ct_volume, _LAYOUT.ct_metadata, _LAYOUT.comparison,
                                      _LAYOUT.volume_histogram, *_GEOMETRY.files, *_RUN.files, *_MEASUREMENT.files)}
                    | {"histogram.json"})  # the old name of the histogram, which must not come back
FOLDERS = sorted({_LAYOUT.volume_dir.name, _GEOMETRY.path.parent.name, _LAYOUT.simulations_dir.name,
                  _MEASUREMENT.path.parent.name, _LAYOUT.comparison.parent.name, _LAYOUT.auxiliary_dir.name})
_FILE = re.compile(r"(^|/)(%s)$" % "|".join(map(re.escape, FILE_NAMES)))
_FOLDER = re.compile(r"^(%s)(/|$)" % "|".join(map(re.escape, FOLDERS)))


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _is_path_join(parent: ast.AST | None) -> bool:
    return isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div)


def literal_artifact_paths(source: str) -> list[tuple[int, str]]:
    """String constants that spell an artifact path: a layout file name, or a layout folder used as a path.

    Docstrings (and the doctests in them) are documentation, not paths the code uses.
    """
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
            continue
        text = node.value
        in_path = _is_path_join(parents.get(id(node))) or "/" in text
        if _FILE.search(text) or (in_path and _FOLDER.match(text.lstrip("/"))):
            found.append((node.lineno, text))
    return sorted(found)


def test_the_package_spells_no_artifact_path_outside_the_layout() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == LAYOUT_MODULE:
            continue
        for line, text in literal_artifact_paths(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}")
    assert not offenders, "artifact paths must come from rhinoapp.core.layout.ProjectLayout:\n" + "\n".join(offenders)


def test_the_check_finds_literal_paths_and_ignores_words_and_docstrings() -> None:
    assert literal_artifact_paths('p = project / "volume" / "ct.nii.gz"') == [(1, "ct.nii.gz"), (1, "volume")]
    joined = 'x = root / "geometry" / v\nname = f"simulations/{run}/results.json"'
    assert literal_artifact_paths(joined) == [(1, "geometry"), (2, "/results.json"), (2, "simulations/")]
    documented = "'''volume/ct.json'''\nlabel = 'geometry'\ndef f():\n    'see results.json'\n"
    assert literal_artifact_paths(documented) == []


def test_relative_names_and_real_paths_agree() -> None:
    root = Path("/data/p1")
    layout = ProjectLayout(root)
    assert layout.geometry("default").labels == root / str(ProjectLayout().geometry("default").labels)
    assert isinstance(ProjectLayout().ct_volume, PurePosixPath) and isinstance(layout.ct_volume, Path)
    for name in (*map(str, ProjectLayout().simulation("run-1").files),):
        assert ProjectLayout.simulation_run_of(name) == "run-1"
    assert ProjectLayout.results_run_of(str(ProjectLayout().simulation("run-1").results)) == "run-1"
    assert ProjectLayout.parameters_measurement_of(str(ProjectLayout().measurement("m1").parameters)) == "m1"
    assert ProjectLayout.parameters_measurement_of(str(ProjectLayout().measurement("m1").recording)) is None


def test_auxiliary_outputs_are_told_apart_from_step_outputs() -> None:
    layout = ProjectLayout()
    auxiliary = [layout.volume_histogram, layout.thumbnails_dir / "axial.png", layout.logs_dir / "job.log"]
    assert all(ProjectLayout.is_auxiliary(str(p)) for p in auxiliary)
    outputs = [layout.ct_volume, layout.ct_metadata, *layout.geometry().files, *layout.simulation("r").files,
               *layout.measurement("m").files, layout.comparison]
    assert not any(ProjectLayout.is_auxiliary(str(p)) for p in outputs)


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden"])
def test_ids_that_would_leave_their_folder_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="use letters, digits"):
        ProjectLayout().simulation(bad)
