"""The Python API: script a case from CT to analysis, in a notebook or a script.

>>> from rhinoapp.api import Case
>>> Case.__name__
'Case'

:class:`~rhinoapp.api.case.Case` opens or creates a project and runs its steps (``import_ct``,
``segment``, ``simulate`` (or ``start_simulation``, with a live 3D view of the running flow), ``sweep``,
``import_4pr``, ``compare``, ``report``) through the same use
cases and jobs as the CLI and the pages; the results are frozen values
(:mod:`rhinoapp.api.results`) with tables, figures, PyVista datasets and ``show()`` for notebooks.
Runnable examples: the docstring of :class:`~rhinoapp.api.case.Case` and the notebooks in
``notebooks/``. This layer sits beside ``cli``, at the top.
"""

from rhinoapp.api.case import Case
from rhinoapp.api.jobs import JobFailed
from rhinoapp.api.live import LiveRun
from rhinoapp.api.results import Analysis, CTImage, Geometry, Rhinomanometry, Simulation, Sweep

__all__ = ["Analysis", "CTImage", "Case", "Geometry", "JobFailed", "LiveRun", "Rhinomanometry", "Simulation", "Sweep"]
