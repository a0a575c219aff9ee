"""Files generated from the scenario schema: ``scenarios/base.yaml`` (every default, commented
with its meaning and unit) and ``scenarios/schema.json`` (for editor completion).

Regenerate with ``python -m planning.scenario_files scenarios``; a test keeps both in sync.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from planning.scenario import Scenario

SCHEMA_LINE = "# yaml-language-server: $schema=schema.json"
_NOT_DEFAULTS = ("name", "description", "data", "mode", "actions")


def json_schema() -> str:
    """The JSON schema of a scenario file, as text."""
    return json.dumps(Scenario.model_json_schema(), ensure_ascii=False, indent=2) + "\n"


def base_yaml() -> str:
    """Every default setting as commented YAML (scenario files override what they change)."""
    head = [
        SCHEMA_LINE,
        "# Default settings of every scenario, generated from planning/scenario.py: do not edit",
        "# by hand (python -m planning.scenario_files scenarios). A scenario file states only",
        "# what it changes and starts with `extends: base.yaml` (or a scenario that does).",
        "",
    ]
    defaults = {k: v for k, v in _defaults(Scenario).items() if k not in _NOT_DEFAULTS}
    return "\n".join(head + _render(Scenario, defaults, indent=0)) + "\n"


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for name, field in model.model_fields.items():
        if field.is_required():
            continue
        out[name] = field.get_default(call_default_factory=True)
    return json.loads(
        json.dumps(
            {
                k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v
                for k, v in out.items()
            },
            default=str,
        )
    )


def _render(model: type[BaseModel], values: dict[str, Any], *, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for name, value in values.items():
        field = model.model_fields[name]
        for row in textwrap.wrap(field.description or "", 96 - indent):
            lines.append(f"{pad}# {row}")
        sub = field.annotation
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            lines.append(f"{pad}{name}:")
            lines += _render(sub, value, indent=indent + 2)
        else:
            lines.append(f"{pad}{name}: {_scalar_or_flow(value)}")
    return lines


def _scalar_or_flow(value: Any) -> str:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=1000)
    return text.strip().removesuffix("...").strip()


def write(folder: str | Path) -> list[Path]:
    """Write base.yaml and schema.json into ``folder``."""
    folder = Path(folder)
    out = [folder / "base.yaml", folder / "schema.json"]
    out[0].write_text(base_yaml(), encoding="utf-8")
    out[1].write_text(json_schema(), encoding="utf-8")
    return out


if __name__ == "__main__":
    for path in write(sys.argv[1] if len(sys.argv) > 1 else "scenarios"):
        print(path)
