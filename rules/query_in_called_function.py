from __future__ import annotations

import ast
from collections.abc import Iterator

from querylint.diagnostics import Confidence, Diagnostic
from querylint.python import callgraph
from querylint.python.facts import PATH_OPTIONS, EventKind, PythonFacts, skipped
from querylint.rule import Example, PythonContext, PythonRule
from querylint.source import RelatedSpan

_MODELS = """\
from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
"""

_SERVICES = """\
from shop.models import Order


def open_orders(customer_id):
    return Order.objects.filter(customer_id=customer_id).count()
"""

_PRICES = """\
def price_of(conn, sku):
    with conn.cursor() as cur:
        cur.execute("SELECT price FROM products WHERE sku = %s", [sku])
        return cur.fetchone()[0]
"""


class QueryInCalledFunction(PythonRule):
    """A function called in a loop always runs a query: the round trip hides one call away.

    ## Why is this bad?
    `report(customer)` in a loop looks cheap, but if `report` (or a method or property it
    calls, in this file or another) runs a query on every call, the loop runs one query per
    row — an N+1 that per-function checks cannot see. querylint follows the call graph
    (depth-limited, `max-depth`, default 3) and reports only callees that query on their
    straight-line path, not behind an `if`, a cache or a loop of their own. The related
    spans show the chain down to the query.

    ## Example
    ```python
    for customer in customers:
        count = open_orders(customer.id)  # runs Order.objects.filter(...).count()
    ```

    ## Use instead
    ```python
    counts = dict(
        Order.objects.filter(customer__in=customers)
        .values_list("customer_id")
        .annotate(n=Count("id"))
    )
    ```

    ## Options
    Test files, migrations and one-off scripts (Django management commands, `examples/`)
    are skipped: set `check-tests` / `check-migrations` / `check-scripts` to `true` to
    include them.

    ## References
    - [Django: Database access optimization](https://docs.djangoproject.com/en/stable/topics/db/optimization/)
    """

    code = "QL203"
    name = "query-in-called-function"
    options = {"max-depth": callgraph.DEFAULT_DEPTH, **PATH_OPTIONS}
    example_path = "shop/views.py"

    VALID = [
        Example(
            """\
            from shop.services import open_orders


            def report(customers):
                print(open_orders(1))
            """,
            files={"shop/models.py": _MODELS, "shop/services.py": _SERVICES, "shop/__init__.py": ""},
        ),
    ]
    INVALID = [
        Example(
            """\
            from shop.prices import price_of


            def total(conn, skus):
                return sum(price_of(conn, sku) for sku in skus)
            """,
            files={"shop/__init__.py": "", "shop/prices.py": _PRICES},
            line=5,
            message="`price_of(conn, sku)` runs a query on every iteration of `for sku in skus`: `shop.prices.price_of` -> `cur.execute(...)` at shop/prices.py:3",
        ),
        Example(
            """\
            from shop.services import open_orders


            def report(customers):
                for customer in customers:
                    print(open_orders(customer.id))
            """,
            files={"shop/models.py": _MODELS, "shop/services.py": _SERVICES, "shop/__init__.py": ""},
            line=6,
            message="`open_orders(customer.id)` runs a query on every iteration of `for customer in customers`: `shop.services.open_orders` -> `Order.objects.filter(customer_id=customer_id).count()` at shop/services.py:5",
        ),
    ]

    def visit_Module(self, node: ast.Module, ctx: PythonContext) -> Iterator[Diagnostic]:
        facts = ctx.project.facts.get("python")
        if not isinstance(facts, PythonFacts) or skipped(ctx.path, self.opts):
            return
        depth = int(self.opts.get("max-depth", callgraph.DEFAULT_DEPTH))
        for ev in facts.events_in(ctx.path, EventKind.CALL):
            if ev.loop is None or ev.loop.bounded or ev.callee is None:
                continue
            chain = callgraph.query_chain(facts, ev.callee, receiver_eager=ev.receiver_eager, receiver_known=ev.receiver_known, depth=depth, args=ev.args, varying_args=ev.varying_args)
            if not chain:
                continue
            final = chain[-1].event
            src = ctx.project.source(final.span.path)
            line = src.line_of(final.span.start) if src is not None else 0
            names = " -> ".join(f"`{h.event.text}`" if h is not chain[-1] else f"`{h.function}`" for h in chain[:-1])
            hops = f"`{chain[0].function}`" + (f" -> {names}" if names else "")
            related = [RelatedSpan(ev.loop.span, "the loop")]
            related += [RelatedSpan(h.event.span, f"`{h.function}` calls `{h.event.text}`") for h in chain[:-1]]
            related.append(RelatedSpan(final.span, "runs the query"))
            uses_relation = final.self_relation is not None
            # a write at the end of the chain wants a bulk operation, not a fetch before the loop
            writes = final.kind is EventKind.WRITE
            if uses_relation:
                help_ = f"Add .prefetch_related(\"{final.self_relation}\") / .select_related(\"{final.self_relation}\") to the iterated queryset"
            elif writes:
                help_ = "Collect the rows in the loop and write them once after it (bulk_create / bulk_update / one UPDATE or DELETE for all ids)"
            else:
                help_ = "Fetch what the function needs for all rows before the loop and pass it in"
            yield self.diagnostic(
                ev.span,
                f"`{ev.text}` {'writes to the database' if writes else 'runs a query'} on every iteration of `{ev.loop.description}`: {hops} -> `{final.text}` at {final.span.path}:{line}",
                help=help_,
                related=related,
                confidence=Confidence.MEDIUM if len(chain) > 2 else ev.confidence,
            )
