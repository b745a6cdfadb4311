"""The build's state file, column by column: what is written is what is read back, and a damaged
file is no state at all (the next build is a full one)."""

from __future__ import annotations

import orjson
import pytest

from generator.output.state import BuildMode, BuildState

MODE = BuildMode("engine-1", True, False, keystore="ks-1")


def sample() -> BuildState:
    return BuildState(
        "inputs-1",
        MODE,
        1234,
        files={"p1/a.bin": "d-a", "p1/index.html": "d-i", "p2/b.bin": "d-b", "_shared/x.bin": "d-x"},
        recipes={"k-a": ("r-a", "p1/a.bin"), "k-i": ("r-i", "p1/index.html"), "k-b": ("r-b", "p2/b.bin")},
        pages=3,
        portals=[["p1", 2, 2], ["p2", 1, 1]],
        rekey_after="2026-12-31",
        links={"p1/index.html": ("p1/a.bin", "_shared/x.bin"), "p2/b.bin": ("p1/a.bin", "_shared/x.bin")},
    )


def round_trip(state: BuildState) -> BuildState | None:
    return BuildState.from_json(orjson.loads(orjson.dumps(state.to_json())))


def test_what_is_written_is_read_back():
    state = sample()
    again = round_trip(state)
    assert again == state
    written = state.to_json()
    assert written["paths"].count("p1/a.bin") == 1  # each path once, however many name it
    assert len(written["link_sets"]) == 1  # two files linking the same files share one set


def test_a_path_only_a_recipe_or_a_link_names_is_kept_too():
    state = sample()
    state.recipes["k-gone"] = ("r-gone", "p3/gone.bin")
    state.links["p2/b.bin"] = ("p4/elsewhere.bin",)
    again = round_trip(state)
    assert again == state and "p3/gone.bin" not in again.files


def test_links_in_any_order_are_read_back_the_same():
    state, reordered = sample(), sample()
    reordered.links = dict(reversed(reordered.links.items()))
    assert BuildState.from_json(orjson.loads(orjson.dumps(reordered.to_json()))) == state


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data["digests"].pop(),  # columns of different lengths
        lambda data: data["recipe_paths"].__setitem__(0, 10_000),  # a row that does not exist
        lambda data: data["link_sets"].append([10_000]),
        lambda data: data.__setitem__("links", {}),
        lambda data: data.__setitem__("version", 3),  # an earlier version's state
        lambda data: data.pop("paths"),
    ],
)
def test_a_damaged_state_is_no_state(damage):
    data = sample().to_json()
    damage(data)
    assert BuildState.from_json(orjson.loads(orjson.dumps(data))) is None
