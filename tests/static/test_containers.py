"""The Dockerfile builds small, non-root images from Pipfile.lock: checked by reading it, no Docker."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.static

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
TARGETS = {"query": "query_service", "worker": "ingest_worker"}
SECRET_WORDS = re.compile(r"(secret|password|passwd|token|credential|api_?key|\.pem|\.key\b|\.env\b|sa\.json)", re.I)


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for instruction, argument in self.instructions if instruction == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, with line continuations joined and comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    parsed = []
    for entry in logical:
        keyword, _, argument = entry.partition(" ")
        parsed.append((keyword.upper(), argument.strip()))
    return parsed


@pytest.fixture(scope="module")
def parsed() -> tuple[dict[str, str], dict[str, Stage]]:
    """Global ARG defaults and the stages by name."""
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, argument in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", argument, re.I)
            assert match, argument
            current = Stage(name=match.group(2) or f"stage{len(stages)}", base=match.group(1))
            stages[current.name] = current
        elif current is None:
            if keyword == "ARG" and "=" in argument:
                name, _, default = argument.partition("=")
                args[name] = default
        else:
            current.instructions.append((keyword, argument))
    return args, stages


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


def effective(stages: dict[str, Stage], name: str, keyword: str) -> str | None:
    """The last value of an inherited setting such as USER, as the final image sees it."""
    for stage in lineage(stages, name):
        values = stage.all(keyword)
        if values:
            return values[-1]
    return None


def test_build_is_multi_stage_with_query_and_worker_targets(parsed: tuple[dict[str, str], dict[str, Stage]]) -> None:
    _, stages = parsed
    assert len(stages) >= 3
    assert set(TARGETS) <= set(stages)
    assert any(stage.all("COPY") and "--from=" in " ".join(stage.all("COPY")) for stage in stages.values())


def test_base_image_is_slim_python_311_pinned_by_tag(parsed: tuple[dict[str, str], dict[str, Stage]]) -> None:
    args, stages = parsed
    for stage in stages.values():
        if stage.base in stages:
            continue
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], stage.base)
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image), image


def test_dependencies_come_from_pipfile_lock_with_hashes(parsed: tuple[dict[str, str], dict[str, Stage]]) -> None:
    _, stages = parsed
    runs = " ".join(run for stage in stages.values() for run in stage.all("RUN"))
    copies = " ".join(copy for stage in stages.values() for copy in stage.all("COPY"))
    assert "Pipfile.lock" in copies
    assert "pipenv requirements" in runs and "--dev" not in runs
    assert "--require-hashes" in runs


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_images_run_as_a_non_root_user(parsed: tuple[dict[str, str], dict[str, Stage]], target: str) -> None:
    _, stages = parsed
    user = effective(stages, target, "USER")
    assert user is not None, f"{target} runs as root"
    assert user.split(":")[0] not in {"root", "0"}


@pytest.mark.parametrize(("target", "package"), sorted(TARGETS.items()))
def test_images_start_python_directly_in_exec_form(
    parsed: tuple[dict[str, str], dict[str, Stage]], target: str, package: str
) -> None:
    _, stages = parsed
    command = effective(stages, target, "CMD")
    assert command is not None and command.startswith("["), "shell form would put /bin/sh between SIGTERM and python"
    argv = json.loads(command)
    assert argv[0].endswith("python") and argv[1:] == ["-m", package]
    assert effective(stages, target, "ENTRYPOINT") is None


@pytest.mark.parametrize(("target", "package"), sorted(TARGETS.items()))
def test_images_hold_only_their_runtime_code(
    parsed: tuple[dict[str, str], dict[str, Stage]], target: str, package: str
) -> None:
    _, stages = parsed
    copied = {
        copy.split()[0].rstrip("/")
        for stage in lineage(stages, target)
        for copy in stage.all("COPY")
        if not copy.startswith("--from")
    }
    other = next(p for t, p in TARGETS.items() if t != target)
    assert {"common", "backends", "bootstrap.py", package} <= copied
    assert other not in copied and "tests" not in copied and "cli" not in copied and "." not in copied
    if target == "query":
        assert "delos" in copied


def test_python_output_is_unbuffered_and_query_binds_all_interfaces_on_port(
    parsed: tuple[dict[str, str], dict[str, Stage]],
) -> None:
    _, stages = parsed
    envs = " ".join(env for stage in lineage(stages, "query") for env in stage.all("ENV"))
    assert "PYTHONUNBUFFERED=1" in envs
    assert "DELOS_HOST=0.0.0.0" in envs
    assert re.search(r"\bPORT=\d+", envs), "a default PORT for docker run; Cloud Run overrides it"


def test_no_add_and_no_secrets_in_the_image(parsed: tuple[dict[str, str], dict[str, Stage]]) -> None:
    _, stages = parsed
    for stage in stages.values():
        assert not stage.all("ADD"), "COPY only: ADD fetches URLs and unpacks archives"
        for keyword in ("COPY", "ENV", "ARG"):
            for argument in stage.all(keyword):
                assert not SECRET_WORDS.search(argument), f"{keyword} {argument}"


def test_build_context_is_an_allow_list() -> None:
    lines = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed <= {
        "Pipfile",
        "Pipfile.lock",
        "bootstrap.py",
        "common",
        "backends",
        "delos",
        "ingest_worker",
        "query_service",
        "archive",
    }


def test_the_worker_image_ships_the_archive_where_its_default_setting_looks(
    parsed: tuple[dict[str, str], dict[str, Stage]],
) -> None:
    _, stages = parsed
    copies = [copy.split() for stage in lineage(stages, "worker") for copy in stage.all("COPY")]
    workdir = effective(stages, "worker", "WORKDIR")
    ignored = DOCKERIGNORE.read_text().splitlines()

    assert ["archive/", "archive/"] in copies, "DELOS_ARCHIVE_DIR defaults to <code root>/archive"
    assert ["common/", "common/"] in copies and workdir == "/app"
    assert "!archive/" in ignored
    assert (REPO_ROOT / "archive" / "SOURCES.md").is_file()
