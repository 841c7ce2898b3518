"""The command-line interface, run as a real process where it matters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rhinoapp.cli import main


def run(*args: str, data: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rhinoapp", *args, "--data-dir", str(data)],
                          capture_output=True, text=True, input=stdin, timeout=60)


@pytest.mark.slow
def test_projects_create_list_delete(tmp_path: Path) -> None:
    assert run("projects", "create", "Case 1", "--description", "demo", data=tmp_path).returncode == 0
    listing = run("projects", "list", "--json", data=tmp_path)
    [row] = json.loads(listing.stdout)
    assert row["name"] == "Case 1" and row["status"]["DICOM"] == "possible"
    assert row["status"]["Geometry"] == "not-possible-yet"
    refused = run("projects", "delete", "Case 1", data=tmp_path, stdin="")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert run("projects", "delete", "case 1", "--yes", data=tmp_path).returncode == 0
    assert json.loads(run("projects", "list", "--json", data=tmp_path).stdout) == []


def test_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--data-dir", str(tmp_path)]
    assert main(["projects", "create", "Case 1", *base]) == 0
    assert main(["projects", "create", "case 1", *base]) == 2
    assert 'already exists: choose another name' in capsys.readouterr().err
    assert main(["projects", "create", "bad|name", *base]) == 2
    assert "may not contain '|'" in capsys.readouterr().err
    assert main(["projects", "delete", "nope", "--yes", *base]) == 2
    assert "rhinoapp projects list" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["projects", "list", "--data-dir", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_refuses_a_corrupt_database_before_listening(tmp_path: Path) -> None:
    (tmp_path / "rhinoapp.sqlite").write_bytes(b"garbage" * 1000)
    result = run("serve", "--port", "0", data=tmp_path)
    assert result.returncode == 2
    assert "corrupt or not a rhinoapp database" in result.stderr
    assert "Launching server" not in result.stdout + result.stderr


def test_global_and_command_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "--user", "dr-a", "projects", "create", "Mine"]) == 0
    assert main(["projects", "list", "--data-dir", str(tmp_path), "--user", "dr-b"]) == 0
    assert "no projects" in capsys.readouterr().out


@pytest.mark.slow
def test_serve_refuses_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("")
    result = subprocess.run([sys.executable, "-m", "rhinoapp", "serve", "--port", "0", "--data-dir", str(blocker)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr
    assert "Launching server" not in result.stdout + result.stderr


def test_rhinomanometry_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rhinoapp.rhinomanometry.io import write_csv
    from rhinoapp.rhinomanometry.model import Side
    from rhinoapp.rhinomanometry.synthetic import generate

    synth = generate(duration_s=16.0, seed=3)
    recording = tmp_path / "4pr.csv"
    recording.write_text(write_csv(synth.measurement))
    out = tmp_path / "params.json"
    assert main(["rhinomanometry", str(recording), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "left side" in printed and "R150" in printed and "total R150" in printed
    params = json.loads(out.read_text())
    assert {s["side"] for s in params["sides"]} == {"left", "right"}
    left = next(s for s in params["sides"] if s["side"] == "left")
    truth = synth.truth.side(Side.LEFT).resistance_at(150.0)
    assert abs(left["summary"]["r150"]["mean"] - truth) / truth < 0.02
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,side,dp_pa\n0,L,1\n")
    assert main(["rhinomanometry", str(bad)]) == 2
    assert "rhinoapp: error:" in capsys.readouterr().err


def test_projects_delete_refuses_active_jobs_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rhinoapp.config import Settings
    from rhinoapp.core.workflow import JobKind
    from rhinoapp.store import ProjectRepository, open_store
    from rhinoapp.store.jobs import JobStore

    base = ["--data-dir", str(tmp_path)]
    store = open_store(Settings(data_dir=tmp_path))
    try:
        project = ProjectRepository(store, owner="local").create("Case 1")
        JobStore(store).create(owner="local", project_id=project.id, kind=JobKind.SIMULATION, profile="local")
    finally:
        store.close()
    assert main(["projects", "delete", "Case 1", "--yes", *base]) == 2
    error = capsys.readouterr().err
    assert error.startswith("rhinoapp: error: ") and error.count("\n") == 1
    assert "1 job still queued or running (simulation)" in error and "--force" in error and "Jobs page" in error
    assert main(["projects", "list", "--json", *base]) == 0 and '"Case 1"' in capsys.readouterr().out
    assert main(["projects", "delete", "Case 1", "--yes", "--force", *base]) == 0
    assert "deleted Case 1" in capsys.readouterr().out
    assert main(["projects", "list", "--json", *base]) == 0 and capsys.readouterr().out.strip() == "[]"


def test_users_share_and_the_user_checked_against_the_accounts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    base = ["--data-dir", str(tmp_path)]
    for name, admin in (("ana", ["--admin"]), ("bob", [])):
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{name} long password\n"))
        assert main(["users", "add", name, *admin, *base]) == 0
    assert main(["users", "list", *base]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["ana (admin)", "bob"]
    assert main(["projects", "list", *base]) == 2  # the default user "local" is no account
    assert "--user local is not an enabled account" in capsys.readouterr().err
    assert main(["projects", "create", "Case 1", "--user", "ana", *base]) == 0
    assert main(["share", "Case 1", "bob", "--role", "viewer", "--user", "ana", *base]) == 0
    assert main(["share", "Case 1", "--user", "ana", *base]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "bob viewer"
    assert main(["projects", "delete", "Case 1", "--yes", "--user", "bob", *base]) == 2
    assert "shared with bob as viewer" in capsys.readouterr().err
    assert main(["share", "Case 1", "bob", "--revoke", "--user", "ana", *base]) == 0
    assert main(["projects", "list", "--json", "--user", "bob", *base]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1]) == []
    assert main(["users", "disable", "bob", *base]) == 0
    assert main(["projects", "list", "--user", "bob", *base]) == 2


@pytest.mark.slow
def test_serve_on_another_address_without_a_login_provider_exits_2_and_says_how(tmp_path: Path) -> None:
    result = run("serve", "--address", "0.0.0.0", "--port", "0", data=tmp_path)
    assert result.returncode == 2
    assert "refuses to listen on 0.0.0.0 without a login" in result.stderr
    assert "rhinoapp users add" in result.stderr and "docs/deployment.md" in result.stderr
    assert "Launching server" not in result.stdout + result.stderr
