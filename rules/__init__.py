"""Every querylint rule, one module each. ``ALL`` is the one explicit list the engine loads.

Keep each family in its own block, sorted by code; a test proves every module in this package
is listed and that codes and names are unique.
"""

from __future__ import annotations

from querylint.rule import Rule

# QL0xx: tool
from querylint.rules.internal_error import InternalError
from querylint.rules.parse_error import ParseError
from querylint.rules.unused_suppression import UnusedSuppression

# isort: split
# QL1xx: query shape (SQL front end)
from querylint.rules.leading_wildcard_like import LeadingWildcardLike
from querylint.rules.non_sargable_predicate import NonSargablePredicate
from querylint.rules.not_in_subquery import NotInSubquery
from querylint.rules.offset_pagination import OffsetPagination
from querylint.rules.order_by_random import OrderByRandom
from querylint.rules.select_star import SelectStar

# isort: split
# QL2xx: round trips (ORM front end)
from querylint.rules.n_plus_one import NPlusOne
from querylint.rules.query_in_called_function import QueryInCalledFunction
from querylint.rules.query_in_loop import QueryInLoop
from querylint.rules.write_in_loop import WriteInLoop

# isort: split
# QL3xx: indexes
from querylint.rules.index_column_order import IndexColumnOrder
from querylint.rules.missing_expression_index import MissingExpressionIndex
from querylint.rules.missing_index import MissingIndex
from querylint.rules.missing_partial_index import MissingPartialIndex
from querylint.rules.redundant_index import RedundantIndex
from querylint.rules.unindexed_foreign_key import UnindexedForeignKey

# isort: split
# QL4xx: migration safety
from querylint.rules.add_column_volatile_default import AddColumnVolatileDefault
from querylint.rules.add_primary_key import AddPrimaryKey
from querylint.rules.add_required_column import AddRequiredColumn
from querylint.rules.add_unique_constraint import AddUniqueConstraint
from querylint.rules.check_not_valid import CheckNotValid
from querylint.rules.column_type_change import ColumnTypeChange
from querylint.rules.concurrent_index_in_transaction import ConcurrentIndexInTransaction
from querylint.rules.create_index_not_concurrent import CreateIndexNotConcurrent
from querylint.rules.detach_partition_not_concurrent import DetachPartitionNotConcurrent
from querylint.rules.drop_column import DropColumn
from querylint.rules.drop_index_not_concurrent import DropIndexNotConcurrent
from querylint.rules.drop_table import DropTable
from querylint.rules.foreign_key_not_valid import ForeignKeyNotValid
from querylint.rules.identifier_too_long import IdentifierTooLong
from querylint.rules.irreversible_migration import IrreversibleMigration
from querylint.rules.missing_lock_timeout import MissingLockTimeout
from querylint.rules.prefer_bigint import PreferBigint
from querylint.rules.prefer_identity import PreferIdentity
from querylint.rules.prefer_robust_statements import PreferRobustStatements
from querylint.rules.prefer_text import PreferText
from querylint.rules.prefer_timestamptz import PreferTimestamptz
from querylint.rules.refresh_matview_not_concurrent import RefreshMatviewNotConcurrent
from querylint.rules.reindex_not_concurrent import ReindexNotConcurrent
from querylint.rules.rename_column import RenameColumn
from querylint.rules.rename_table import RenameTable
from querylint.rules.rewrite_table import RewriteTable
from querylint.rules.set_not_null import SetNotNull
from querylint.rules.transaction_nesting import TransactionNesting
from querylint.rules.truncate_cascade import TruncateCascade
from querylint.rules.validate_in_same_transaction import ValidateInSameTransaction

ALL: tuple[type[Rule], ...] = (
    # QL0xx
    InternalError,
    ParseError,
    UnusedSuppression,
    # QL1xx
    SelectStar,
    LeadingWildcardLike,
    OffsetPagination,
    NonSargablePredicate,
    OrderByRandom,
    NotInSubquery,
    # QL2xx
    QueryInLoop,
    NPlusOne,
    QueryInCalledFunction,
    WriteInLoop,
    # QL3xx
    MissingIndex,
    IndexColumnOrder,
    MissingPartialIndex,
    UnindexedForeignKey,
    RedundantIndex,
    MissingExpressionIndex,
    # QL4xx
    CreateIndexNotConcurrent,
    DropIndexNotConcurrent,
    ConcurrentIndexInTransaction,
    AddRequiredColumn,
    AddColumnVolatileDefault,
    ForeignKeyNotValid,
    CheckNotValid,
    SetNotNull,
    ColumnTypeChange,
    RenameColumn,
    RenameTable,
    DropColumn,
    DropTable,
    AddUniqueConstraint,
    AddPrimaryKey,
    MissingLockTimeout,
    ReindexNotConcurrent,
    ValidateInSameTransaction,
    PreferBigint,
    PreferTimestamptz,
    PreferText,
    PreferIdentity,
    IdentifierTooLong,
    PreferRobustStatements,
    RewriteTable,
    TruncateCascade,
    TransactionNesting,
    RefreshMatviewNotConcurrent,
    DetachPartitionNotConcurrent,
    IrreversibleMigration,
)

__all__ = ["ALL"]
