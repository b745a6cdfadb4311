"""How every benchmark prints its figures: an aligned table, or JSON with --json."""

from __future__ import annotations

import json


def print_figures(figures: dict, as_json: bool, targets_met: dict[str, bool] | None = None) -> None:
    targets_met = targets_met or {}
    if as_json:
        print(json.dumps({"figures": figures, "targets_met": targets_met} if targets_met else figures, indent=2))
        return
    width = max(map(len, figures))
    for key, value in figures.items():
        mark = "" if key not in targets_met else ("  ✓" if targets_met[key] else "  ✗ target missed")
        print(f"{key:<{width}}  {value}{mark}")
