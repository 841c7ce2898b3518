"""Plausibility checks on how a run was set up rather than on its figures: the sides, the lattice, the openings.

Values in, values out, as :func:`rhinoapp.analysis.plausibility.check_results` calls them on a run's
``results.json`` content (see that module's notes for what each one checks).

Examples
--------
>>> [flag.kind.value for flag in side_flags({"nostrils_lps_mm": {"left": [-6.0, 0, 0], "right": [6.0, 0, 0]}},
...                                         PlausibilityLimits())]
['sides']
>>> opening_flags({}), resolution_flags({"resolution": {"rule_met": True}})
([], [])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rhinoapp.analysis.flag_types import FlagKind, PlausibilityFlag, PlausibilityLimits, Severity
from rhinoapp.core.jsonable import finite_or_none as _number

__all__ = ["opening_flags", "resolution_flags", "side_flags"]


def side_flags(results: Mapping[str, Any], limits: PlausibilityLimits) -> list[PlausibilityFlag]:
    """A warning when the left nostril lies to the patient's right of the right one (LPS x)."""
    nostrils = results.get("nostrils_lps_mm") or {}
    left, right = nostrils.get("left"), nostrils.get("right")
    if not left or not right:
        return []
    offset = float(left[0]) - float(right[0])  # LPS x grows to the patient's left
    if offset >= -limits.sides_tolerance_mm:
        return []
    where = tuple(float(v) for v in left)
    return [PlausibilityFlag(
        FlagKind.SIDES, Severity.WARNING, "left nostril's distance to the patient's left of the right one", offset,
        "mm", "above 0 (LPS x: the left nostril on the patient's left)",
        f"the left nostril ({', '.join(f'{v:.1f}' for v in left)} mm LPS) lies to the patient's right of the right one "
        f"({', '.join(f'{v:.1f}' for v in right)} mm LPS): the labels' left and right (1 and 2) or the image's "
        "orientation are probably swapped, and every figure per side with them; check the label numbering or the "
        "mapping and the orientation of the image, and segment or import again.",
        None, (where[0], where[1], where[2]))]


def resolution_flags(results: Mapping[str, Any]) -> list[PlausibilityFlag]:
    """A warning when the lattice has fewer cells across the narrowest passage than the rule asks."""
    choice = results.get("resolution") or {}
    cells, width = _number(choice.get("cells_across")), _number(choice.get("width_mm"))
    if choice.get("rule_met") is not False or cells is None or width is None:
        return []
    wanted = int(choice.get("cells_wanted") or 6)
    given = choice.get("rule") == "given by the user"
    why = (f"the {_number(choice.get('resolution_mm')) or 0:g} mm given is coarser than the default rule's spacing "
           "for this airway" if given else "the memory and time budget (or the finest default spacing) allowed "
           "no finer lattice")
    advice = ("leave the resolution to the rule (Automatic on the Simulations page, no --resolution-mm on the "
              "command line) to rely on the figures" if given else
              "check the narrowest passage in the geometry (a place the labels may have pinched), or run on a "
              "machine with more memory (a GPU profile) at the rule's spacing")
    return [PlausibilityFlag(
        FlagKind.RESOLUTION, Severity.WARNING, "lattice cells across the narrowest passage", cells, "",
        f"at least {wanted} (the default resolution rule; the passage is {width:.2f} mm wide)",
        f"{why}, and a coarser lattice can settle in another flow (on the clinical phantom's labels cut at the front, "
        f"60.4 % of the flow went left at 1.0 mm and 48.9 % at the rule's 0.8 mm): read the flow split and the "
        f"pressure drop as a quick look, and {advice}.")]


def opening_flags(results: Mapping[str, Any]) -> list[PlausibilityFlag]:
    """A warning when a nostril's labels were cut before the nostril (``openings_short_of_nostril``)."""
    short = results.get("openings_short_of_nostril") or {}
    sides = [side for side in ("left", "right") if short.get(f"inlet_{side}")]
    if not sides:
        return []
    which = "both nostrils" if len(sides) == 2 else f"the {sides[0]} nostril"
    return [PlausibilityFlag(
        FlagKind.OPENINGS, Severity.WARNING, "nostrils whose labels end in a coronal cut inside the vestibule",
        float(len(sides)), "", "0 (labels that reach the nostrils, or stop level with them)",
        f"at {which} the labels are cut by a coronal plane inside the vestibule (the label map's front face or "
        "where the labelling stopped), so the nostril and the front of the vestibule are not in the airway and "
        "their share of the resistance is missing (a cut 4 mm behind the nostrils of the clinical phantom lowers "
        "the pressure drop by a fifth): read the pressure drop and the resistance as lower bounds, or label the "
        "airway down to the nostrils (a CT or label map that holds the whole nose).",
        sides[0] if len(sides) == 1 else None)]
