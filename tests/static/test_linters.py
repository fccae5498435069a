"""Run the static-analysis tools when scripts/install_tools has installed them; skip, saying so, otherwise."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.static

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
TOOL_TIMEOUT_S = 90


def tool(name: str) -> str:
    """Path of an installed tool, or skip the test with the reason."""
    local = TOOLS_BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    pytest.skip(f"{name} is not installed: run scripts/install_tools")


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)


def test_checkov_passes_on_infra() -> None:
    result = run(
        tool("checkov"), "--directory", "infra", "--framework", "terraform", "--quiet", "--compact", "--skip-download"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_passes_on_workflows() -> None:
    result = run(tool("actionlint"), ".github/workflows/*.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_passes_on_dockerfile() -> None:
    result = run(tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_terraform_files_are_formatted() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed: fmt check skipped (the other static tests still parse infra/)")
    result = run(terraform, "fmt", "-check", "-diff", "-recursive", "infra")
    assert result.returncode == 0, result.stdout
