"""Use cases: one function per workflow step, called alike by the CLI, the page states and the jobs.

Each takes its step's request type (from the domain package) and does the step's work with the
store where it publishes: :mod:`~rhinoapp.usecases.ct_import`, :mod:`~rhinoapp.usecases.geometry`,
:mod:`~rhinoapp.usecases.simulation` and :mod:`~rhinoapp.usecases.rhinomanometry`. This layer sits
between ``store`` and ``jobs``/``render``.
"""
