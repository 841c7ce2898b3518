"""Job profiles from the settings file and the environment; bad values name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import load_settings
from rhinoapp.config.jobs import JobsSettings, LocalProfile, SchedulerProfile, SlurmProfile, jobs_settings_from
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.core.workflow import JobKind
from rhinoapp.jobs.clusters import job_script, slurm_cluster_kwargs
from rhinoapp.jobs.credentials import SchedulerCredentials, security_for

CONFIG = """
[rhinoapp]
port = 5007
[jobs]
profile = "hpc"
retries = 2
[jobs.kinds]
simulation = "hpc-gpu"
[jobs.profiles.hpc]
type = "slurm"
partition = "cpu"
account = "nose"
cores = 4
memory = "8GB"
walltime = "02:00:00"
job_script_prologue = ["module load Python/3.11", "source /opt/venv/bin/activate"]
python = "/opt/venv/bin/python"
log_directory = "/scratch/logs"
min_jobs = 0
max_jobs = 6
[jobs.profiles.hpc-gpu]
type = "slurm"
partition = "gpu"
gres = "gpu:1"
job_extra_directives = ["--qos=clinical"]
"""


def test_profiles_from_a_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "rhinoapp.toml"
    path.write_text(CONFIG)
    settings = load_settings(environ={}, config_file=path)
    jobs = settings.jobs
    assert settings.port == 5007 and jobs.retries == 2
    cpu, gpu = jobs.profile_for(JobKind.SEGMENTATION), jobs.profile_for(JobKind.SIMULATION)
    assert isinstance(cpu, SlurmProfile) and cpu.partition == "cpu" and cpu.account == "nose" and cpu.max_jobs == 6
    assert gpu.partition == "gpu" and gpu.directives == ("--gres=gpu:1", "--qos=clinical")
    script = job_script(gpu, default_python="/usr/bin/python3")
    assert "#SBATCH -p gpu" in script and "#SBATCH --gres=gpu:1" in script and "#SBATCH --qos=clinical" in script
    cpu_script = job_script(cpu)
    for line in ("#SBATCH -A nose", "#SBATCH -t 02:00:00", "module load Python/3.11", "/opt/venv/bin/python",
                 "#SBATCH -e /scratch/logs/", "--resources rhinoapp-slot=1"):
        assert line in cpu_script, line
    for line in ("--protocol tls://", "--tls-ca-file data/scheduler-tls/ca.pem", "--tls-cert data/scheduler-tls/cert.pem",
                 "--tls-key data/scheduler-tls/key.pem", "--no-dashboard", "DASK_DISTRIBUTED__WORKER__HTTP__ROUTES"):
        assert line in cpu_script, line
    kwargs = slurm_cluster_kwargs(cpu, security_for(SchedulerCredentials.of(tmp_path)))
    assert kwargs["scheduler_options"] == {"dashboard_address": "127.0.0.1:0", "dashboard": False}
    assert kwargs["security"].require_encryption and kwargs["protocol"] == "tls://"


def test_environment_selects_profile_and_scheduler() -> None:
    jobs = jobs_settings_from({}, {"RHINOAPP_JOBS_PROFILE": "scheduler", "RHINOAPP_JOBS_RETRIES": "1",
                                   "RHINOAPP_JOBS_SCHEDULER_ADDRESS": "tls://10.0.0.5:8786"})
    profile = jobs.profile_for(JobKind.SIMULATION)
    assert isinstance(profile, SchedulerProfile) and profile.address == "tls://10.0.0.5:8786" and jobs.retries == 1
    assert isinstance(load_settings(environ={}).jobs.profile_for(JobKind.SIMULATION), LocalProfile)


@pytest.mark.parametrize(("table", "environ", "fragment"), [
    ({}, {"RHINOAPP_JOBS_PROFILE": "nope"}, "jobs.profile names the unknown profile 'nope'"),
    ({"kinds": {"simulation": "gpu"}}, {}, "jobs.kinds.simulation names the unknown profile 'gpu'"),
    ({"kinds": {"meshing": "local"}}, {}, "jobs.kinds.meshing is not a kind of job"),
    ({"profiles": {"x": {"type": "pbs"}}}, {}, "jobs.profiles.x.type must be one of"),
    ({"profiles": {"x": {"type": "slurm", "walltime": "2h"}}}, {}, "jobs.profiles.x.walltime '2h'"),
    ({"profiles": {"x": {"type": "slurm", "cores": 0}}}, {}, "jobs.profiles.x.cores must be a whole number >= 1"),
    ({"profiles": {"x": {"type": "slurm", "partiton": "cpu"}}}, {}, "Unknown setting(s) partiton in jobs.profiles.x"),
    ({"profiles": {"x": {"type": "scheduler", "address": "10.0.0.5"}}}, {}, "jobs.profiles.x.address '10.0.0.5'"),
    ({"profiles": {"x": {"type": "scheduler", "address": "tcp://10.0.0.5:8786"}}}, {}, "is plain, unauthenticated TCP"),
    ({"profiles": {"x": {"type": "scheduler", "address": "tls://h:1", "tls_cert": "c.pem"}}}, {},
     "set all of tls_ca_file, tls_cert and tls_key"),
    ({"retries": "many"}, {}, "jobs.retries"),
    ({"colour": "red"}, {}, "Unknown setting(s) jobs.colour"),
])
def test_bad_job_settings_name_the_setting(table: dict, environ: dict, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        jobs_settings_from(table, environ)
    assert fragment in str(info.value)


def test_default_is_the_local_profile() -> None:
    assert JobsSettings().profile_for(JobKind.VOLUME_HISTOGRAM) == LocalProfile()
