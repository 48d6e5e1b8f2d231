"""Fast pickling of slotted dataclasses.

The project index is pickled to the cache on a cold run and read back by every run on a few
files, and most of what it holds are small slotted dataclasses (spans, events, function
summaries, IR records). For those the ``__getstate__`` / ``__setstate__`` that ``dataclasses``
writes call ``dataclasses.fields()`` for every object, which was half the cost of dumping and
loading the index; a non-frozen slotted class gets no state methods at all and is pickled as a
dictionary of slots. :func:`fast_pickle` gives a class state methods over the field names
computed once: the state is the tuple of field values, in declaration order.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def fast_pickle(cls: type[T]) -> type[T]:
    """Decorate a ``@dataclass(slots=True)`` class (place it above ``@dataclass``)."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in vars(cls):
        raise TypeError(f"fast_pickle needs a slotted dataclass, not {cls.__name__}")
    names = tuple(f.name for f in dataclasses.fields(cls))
    get: Callable[[Any], Any]
    if len(names) == 1:
        one = operator.attrgetter(names[0])

        def get(obj: Any) -> tuple[Any, ...]:
            return (one(obj),)
    else:
        get = operator.attrgetter(*names)

    def __getstate__(self: Any) -> tuple[Any, ...]:
        state: tuple[Any, ...] = get(self)
        return state

    def __setstate__(self: Any, state: tuple[Any, ...]) -> None:
        put = object.__setattr__  # frozen classes refuse setattr
        for name, value in zip(names, state, strict=True):
            put(self, name, value)

    cls.__getstate__ = __getstate__  # type: ignore[attr-defined]
    cls.__setstate__ = __setstate__  # type: ignore[attr-defined]
    return cls
