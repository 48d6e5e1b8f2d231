"""Slotted dataclasses pickle through fast_pickle: a tuple of field values, same object back."""

from __future__ import annotations

import dataclasses
import importlib
import pickle
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import querylint
from querylint.config import load_config
from querylint.engine import Engine
from querylint.slotstate import fast_pickle

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _package_classes() -> list[type]:
    found: list[type] = []
    for info in pkgutil.walk_packages(querylint.__path__, "querylint."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_slotted_dataclass_of_the_package_pickles_fast() -> None:
    slotted = [c for c in _package_classes() if dataclasses.is_dataclass(c) and "__slots__" in vars(c)]
    assert len(slotted) >= 50
    slow = [c.__qualname__ for c in slotted if c.__getstate__.__qualname__ != "fast_pickle.<locals>.__getstate__"]
    assert slow == []


def test_no_subclass_inherits_state_methods_for_fewer_fields() -> None:
    # a subclass with fields or a __dict__ of its own would lose them through its base's methods
    for cls in _package_classes():
        getstate = cls.__getstate__
        if getstate.__qualname__ != "fast_pickle.<locals>.__getstate__":
            continue
        owner = next(k for k in cls.__mro__ if "__getstate__" in vars(k))
        assert owner is cls, f"{cls.__qualname__} inherits fast state methods of {owner.__qualname__}"


@fast_pickle
@dataclass(frozen=True, slots=True)
class _Frozen:
    a: int
    b: tuple[str, ...] = ()


@fast_pickle
@dataclass(slots=True)
class _Mutable:
    one: list[_Frozen] = field(default_factory=list)


def test_state_is_the_tuple_of_fields_and_roundtrips() -> None:
    f = _Frozen(1, ("x",))
    assert f.__getstate__() == (1, ("x",))  # type: ignore[attr-defined]
    m = _Mutable([f, f])
    assert m.__getstate__() == ([f, f],)  # type: ignore[attr-defined]
    back = pickle.loads(pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == m and back.one[0] is back.one[1]  # shared references stay shared
    with pytest.raises(dataclasses.FrozenInstanceError):
        back.one[0].a = 2  # type: ignore[misc]


def test_only_slotted_dataclasses_are_accepted() -> None:
    with pytest.raises(TypeError, match="fast_pickle needs a slotted dataclass, not Plain"):
        @fast_pickle
        @dataclass
        class Plain:
            a: int


def test_a_project_index_survives_the_roundtrip() -> None:
    # no cache: a run answered from it has no project (and would write into the checkout)
    cfg = dataclasses.replace(load_config(str(FIXTURES / "django_shop"), isolated=True), cache=False)
    result = Engine(cfg).run([str(FIXTURES / "django_shop")])
    project = result.project
    assert project is not None and project.queries
    back = pickle.loads(pickle.dumps(project, protocol=pickle.HIGHEST_PROTOCOL))
    assert back.queries == project.queries
    assert back.models.models == project.models.models
    assert back.schema == project.schema
