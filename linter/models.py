"""ORM model facts: what the Python gatherers learn about Django and SQLAlchemy models.

A :class:`Model` maps a class to its table; :class:`Relation` describes how one model reaches
another (forward FK / one-to-one / M2M, the reverse accessors Django adds, SQLAlchemy
``relationship()`` with its ``lazy=`` strategy). The N+1 rules ask the :class:`ModelRegistry`
whether ``obj.attr`` on an instance of a model lazily loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from querylint.slotstate import fast_pickle
from querylint.source import Span


class Framework(Enum):
    DJANGO = "django"
    SQLALCHEMY = "sqlalchemy"


class RelationKind(Enum):
    FORWARD_FK = "forward-fk"  # book.author (many-to-one): one query per access
    FORWARD_O2O = "forward-o2o"
    REVERSE_O2O = "reverse-o2o"  # author.profile
    REVERSE_FK = "reverse-fk"  # author.book_set / related_name: a manager (collection)
    M2M = "m2m"  # book.tags, and its reverse
    GENERIC_FK = "generic-fk"
    SA_MANY_TO_ONE = "sa-many-to-one"
    SA_COLLECTION = "sa-collection"  # one-to-many / many-to-many relationship()


@fast_pickle
@dataclass(frozen=True, slots=True)
class Relation:
    name: str  # attribute name on the source model
    kind: RelationKind
    target: str  # target model key
    column: str | None = None  # the FK column for forward relations ("author_id")
    lazy: str = "select"  # SQLAlchemy loader strategy; Django relations are always lazy
    through: str | None = None
    provenance: Span | None = None
    #: the name lookups use (``filter(<query_name>__...)``): Django's related_query_name,
    #: else related_name, else the lower-cased model name for reverse relations
    query_name: str | None = None

    @property
    def is_collection(self) -> bool:
        return self.kind in (RelationKind.REVERSE_FK, RelationKind.M2M, RelationKind.SA_COLLECTION)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Field:
    name: str  # attribute name
    column: str  # db column
    type: str | None = None  # "CharField", "Integer", ...
    db_index: bool = False
    unique: bool = False
    nullable: bool = False
    primary_key: bool = False
    deferred: bool = False
    provenance: Span | None = None


@fast_pickle
@dataclass(slots=True)
class Model:
    key: str  # Django: "app_label.ClassName"; SQLAlchemy: "ClassName" (module-qualified if ambiguous)
    class_name: str
    framework: Framework
    table: str
    module: str  # dotted module path of the defining file
    path: str
    fields: dict[str, Field] = field(default_factory=dict)
    relations: dict[str, Relation] = field(default_factory=dict)
    abstract: bool = False
    proxy: bool = False
    bases: tuple[str, ...] = ()
    managers: dict[str, str] = field(default_factory=dict)  # attr -> manager/queryset class
    ordering: tuple[str, ...] = ()
    provenance: Span | None = None


@fast_pickle
@dataclass(slots=True)
class ModelRegistry:
    models: dict[str, Model] = field(default_factory=dict)

    def add(self, model: Model) -> None:
        self.models[model.key] = model

    def by_class_name(self, name: str) -> list[Model]:
        return [m for m in self.models.values() if m.class_name == name]

    def resolve(self, name: str, *, from_app: str | None = None) -> Model | None:
        """Find a model by key ("shop.Order"), or by bare class name (unique or same app)."""
        if name in self.models:
            return self.models[name]
        short = name.rsplit(".", 1)[-1]
        found = self.by_class_name(short)
        if len(found) == 1:
            return found[0]
        if from_app is not None:
            for m in found:
                if m.key.split(".", 1)[0] == from_app:
                    return m
        return None
