"""Job runner: dask.distributed over a local cluster, Slurm (dask-jobqueue) or an existing scheduler.

* :mod:`~rhinoapp.jobs.requests`: frozen, picklable job requests and results;
* :mod:`~rhinoapp.jobs.progress`: progress and cancellation from inside a running task;
* :mod:`~rhinoapp.jobs.tasks`: idempotent step functions (outputs staged, then renamed into place);
* :mod:`~rhinoapp.jobs.clusters`: one small adapter per backend (``local``, ``slurm``, ``scheduler``);
* :mod:`~rhinoapp.jobs.runner`: submission, progress, cancel, faults and restart reconciliation.

Importing this package imports no dask module; the runner loads them when it starts.
"""
