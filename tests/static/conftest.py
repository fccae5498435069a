"""Fixtures for the static checks: infra/*.tf parsed with python-hcl2 into an `Infra` with lookup helpers.

Helpers live on the fixture's object, so test modules import nothing from here."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"

_META_KEYS = {"__is_block__", "__comments__", "__start_line__", "__end_line__"}
_SINGLE_REFERENCE = re.compile(r"^\$\{([a-z_][a-z0-9_]*)\.([a-z0-9_]+)(?:\.([a-z0-9_]+))?(?:\.([a-z0-9_]+))?\}$")


def _unquote(value: str) -> str:
    """python-hcl2 (>= 5) keeps string literals quoted; take the quotes off."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def normalize(node: Any) -> Any:
    """Plain Python values: no parser metadata, no quotes around literals or keys."""
    if isinstance(node, dict):
        return {_unquote(key): normalize(value) for key, value in node.items() if key not in _META_KEYS}
    if isinstance(node, list):
        return [normalize(item) for item in node]
    if isinstance(node, str):
        return _unquote(node)
    return node


@dataclass
class Infra:
    """Every resource, data source, local, variable and output in infra/*.tf."""

    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: str = ""

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.resources.get(resource_type, {})

    def one(self, resource_type: str, name: str) -> dict[str, Any]:
        found = self.of_type(resource_type)
        assert name in found, f"{resource_type}.{name} missing; have {sorted(found)}"
        return found[name]

    def find(self, resource_type: str, **attributes: Any) -> tuple[str, dict[str, Any]]:
        """The single resource of this type whose attributes (resolved) equal the given ones."""
        matches = [
            (name, body)
            for name, body in self.of_type(resource_type).items()
            if all(self.resolve(body.get(key)) == value for key, value in attributes.items())
        ]
        assert len(matches) == 1, f"expected one {resource_type} with {attributes}, found {[n for n, _ in matches]}"
        return matches[0]

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for resource_type, by_name in self.resources.items():
            for name, body in by_name.items():
                yield resource_type, name, body

    def resolve(self, value: Any) -> Any:
        """Follow `${local.x}` and `${var.x}` (to its default) until a literal or another expression."""
        for _ in range(10):
            if not isinstance(value, str):
                return value
            match = _SINGLE_REFERENCE.match(value)
            if match and match.group(1) == "local" and match.group(2) in self.locals and not match.group(3):
                value = self.locals[match.group(2)]
            elif match and match.group(1) == "var" and "default" in self.variables.get(match.group(2), {}):
                value = self.variables[match.group(2)]["default"]
            else:
                return value
        return value

    @staticmethod
    def ref(value: Any) -> str | None:
        """`${google_x.name.attr}` -> "google_x.name"; anything else -> None."""
        if not isinstance(value, str):
            return None
        match = _SINGLE_REFERENCE.match(value)
        if not match or not match.group(1).startswith("google_"):
            return None
        return f"{match.group(1)}.{match.group(2)}"

    @staticmethod
    def block(body: Mapping[str, Any], name: str) -> dict[str, Any]:
        """The single nested block `name` (hcl2 gives blocks as one-element lists)."""
        value = body.get(name)
        assert isinstance(value, list) and len(value) == 1, f"expected exactly one {name} block, got {value!r}"
        item = value[0]
        assert isinstance(item, dict)
        return item

    @staticmethod
    def blocks(body: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
        """Every nested block `name`, in order (repeated blocks such as env)."""
        value = body.get(name, [])
        return list(value) if isinstance(value, list) else [value]


@pytest.fixture(scope="session")
def infra() -> Infra:
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is a dev dependency: run pipenv sync --dev")
    parsed = Infra()
    files = sorted(INFRA_DIR.glob("*.tf"))
    assert files, f"no Terraform files in {INFRA_DIR}"
    for path in files:
        text = path.read_text()
        parsed.text += text
        document = normalize(hcl2.loads(text))
        for entry in document.get("resource", []):
            for resource_type, by_name in entry.items():
                for name, body in by_name.items():
                    assert name not in parsed.resources.get(resource_type, {}), f"{resource_type}.{name} twice"
                    parsed.resources.setdefault(resource_type, {})[name] = body
        for entry in document.get("locals", []):
            parsed.locals.update(entry)
        for entry in document.get("variable", []):
            parsed.variables.update(entry)
        for entry in document.get("output", []):
            parsed.outputs.update(entry)
    return parsed
