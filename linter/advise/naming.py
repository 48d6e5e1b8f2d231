"""Deterministic index names: ``<table>_<cols>_idx``, within PostgreSQL's 63 bytes (Django: 30)."""

from __future__ import annotations

import hashlib
import re

from querylint.diagnostics import IndexKey

PG_MAX = 63
DJANGO_MAX = 30


def _slug(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def key_slug(key: IndexKey) -> str:
    return _slug(key.column if key.column is not None else (key.expression or "expr"))


def index_name(table: str, keys: tuple[IndexKey, ...], predicate: str | None = None, *, max_len: int = PG_MAX) -> str:
    """``orders_customer_id_created_at_idx``; partial or DESC indexes get a short hash suffix.

    Names longer than ``max_len`` bytes are cut and end with a 6-hex-digit hash of the full
    identity (table, keys with direction, predicate), so two different indexes never collide
    and the same index always gets the same name.
    """
    identity = table + "|" + ",".join(k.text for k in keys) + "|" + (predicate or "")
    digest = hashlib.sha1(identity.encode("utf-8")).hexdigest()
    base = "_".join([_slug(table), *(key_slug(k) for k in keys)])
    # Partial and DESC variants of the same columns must not share a name.
    suffix = f"_{digest[:6]}_idx" if predicate or any(k.descending for k in keys) else "_idx"
    name = base + suffix
    if not name[0].isalpha():
        name = "ix_" + name
    if len(name.encode("utf-8")) <= max_len:
        return name
    tail = f"_{digest[:6]}_idx"
    head = name[: max_len - len(tail)].rstrip("_")
    return head + tail
