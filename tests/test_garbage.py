"""The cycle collector paused while a stage makes the build's long-lived objects."""

import gc

import pytest

from generator.garbage import garbage_collection_paused


@pytest.fixture(autouse=True)
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def made_in(keep: bool) -> list:
    with garbage_collection_paused(keep=keep):
        assert not gc.isenabled()
        return [[n] for n in range(1000)]


def test_what_a_kept_stage_made_is_frozen_so_no_later_collection_walks_it():
    made = made_in(keep=True)
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)
    assert not any(made[0] is m for m in gc.get_objects())  # in no generation a collection walks


def test_a_stage_not_kept_leaves_its_objects_to_the_collector():
    made = made_in(keep=False)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert any(made[0] is m for m in gc.get_objects())


def test_a_stage_that_fails_freezes_nothing_and_restores_the_collector():
    with pytest.raises(ValueError), garbage_collection_paused(keep=True):
        raise ValueError("bad row")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        made_in(keep=True)
        assert not gc.isenabled()
    finally:
        gc.enable()
