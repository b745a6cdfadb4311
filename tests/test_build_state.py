"""The build's state file, column by column: what is written is what is read back, and a damaged
file is no state at all (the next build is a full one)."""

from __future__ import annotations

import orjson
import pytest

from generator.output.columns import pack_rows
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
    assert len(BuildState.from_json(written).links.ends) == 1  # two files linking the same files share one set


def test_a_path_only_a_recipe_or_a_link_names_is_kept_too():
    state = sample()
    state.recipes["k-gone"] = ("r-gone", "p3/gone.bin")
    state.links["p2/b.bin"] = ("p4/elsewhere.bin",)
    again = round_trip(state)
    assert again == state and "p3/gone.bin" not in again.files


def test_digests_and_recipes_of_one_width_are_each_one_string():
    written = sample().to_json()
    assert written["digests"] == {"width": 3, "count": 4, "text": "d-ad-id-bd-x"}
    assert written["recipes"]["text"] == "r-ar-ir-b"


def test_values_of_different_widths_are_written_as_a_list():
    state = sample()
    state.files["p3/c.bin"] = "longer digest"
    state.recipes["k-c"] = ("", "p3/c.bin")  # no width at all
    written = state.to_json()
    assert isinstance(written["digests"], list) and isinstance(written["recipes"], list)
    assert round_trip(state) == state


def test_a_read_state_answers_like_the_one_written():
    state, again = sample(), round_trip(sample())
    assert again.files["p2/b.bin"] == "d-b" and again.recipes["k-i"] == ("r-i", "p1/index.html")
    assert again.links["p1/index.html"] == ("p1/a.bin", "_shared/x.bin") and "p1/a.bin" not in again.links
    assert len(again.links) == 2 and list(again.files) == list(state.files)
    assert again.files.get("nowhere.bin") is None and again.recipes.get("k-none") is None
    assert dict(again.files.items()) == state.files and list(again.recipes.values()) == list(state.recipes.values())
    assert ("p2/b.bin", "d-b") in again.files.items() and ("r-b", "p2/b.bin") in again.recipes.values()
    assert dict(again.links.items()) == state.links == dict(again.links.items())  # walked twice, the same
    assert again.links.get("p1/a.bin") is None and again.links.get("nowhere") is None


def test_links_in_any_order_are_read_back_the_same():
    state, reordered = sample(), sample()
    reordered.links = dict(reversed(reordered.links.items()))
    assert BuildState.from_json(orjson.loads(orjson.dumps(reordered.to_json()))) == state


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.__setitem__("recipe_paths", pack_rows([0, 1])),  # columns of different lengths
        lambda data: data["digests"].__setitem__("text", data["digests"]["text"][:-1]),  # a packed column cut short
        lambda data: data["digests"].__setitem__("count", 99),  # more digests than paths
        lambda data: data.__setitem__("links", pack_rows([99, 0, 0, 0])),  # a link set that does not exist
        lambda data: data["paths"].__setitem__(0, 7),  # a path is a string
        lambda data: data["digests"].__setitem__("width", 3.0),  # a width is a whole number
        lambda data: data.__setitem__("recipe_keys", "k-ak-ik-b"),  # keys are a list
        lambda data: data.__setitem__("recipe_paths", pack_rows([0, 1, 10_000])),  # a row that does not exist
        lambda data: data.__setitem__("recipe_paths", data["recipe_paths"][:-2]),  # cut short
        lambda data: data.__setitem__("recipe_paths", [0, 1, 2]),  # not packed
        lambda data: data.__setitem__("link_rows", pack_rows([0, 10_000])),
        lambda data: data.__setitem__("link_ends", pack_rows([10_000])),
        lambda data: data.__setitem__("links", {}),
        lambda data: data.__setitem__("version", 3),  # an earlier version's state
        lambda data: data.pop("paths"),
    ],
)
def test_a_damaged_state_is_no_state(damage):
    data = sample().to_json()
    damage(data)
    assert BuildState.from_json(orjson.loads(orjson.dumps(data))) is None
