"""PynamoDB plumbing shared by the services' adapters: one table per service, with
string keys `pk`/`sk`, an index `gsi1` on `gsi1pk`/`gsi1sk`, TTL on `expiration`
(infra.stack.table defines the same table)."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.settings import Settings


class Gsi1(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


def table_meta(service: str) -> type:
    settings = Settings.from_env()

    class Meta:
        table_name = settings.table_name(service)
        region = settings.region

    return Meta


class BaseItem(Model):
    """Subclass with `Meta = table_meta("<service>")`."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


BATCH_GET_KEYS = 100  # DynamoDB's limit of keys per BatchGetItem


def batch_get(dispatch, table: str, wanted: dict[tuple[str, str], type[Model]],
              error: type[Exception] = RuntimeError) -> dict[tuple[str, str], Model]:
    """Strongly consistent BatchGetItem of items of several kinds in one table: (pk, sk) -> its
    model class in, (pk, sk) -> the item found out (absent items are absent). One call per 100
    keys instead of a GetItem each; keys DynamoDB leaves unprocessed (throttling) are asked for
    again, up to 10 times, then `error`. `dispatch`: a PynamoDB connection's `dispatch` (or one
    wrapping it). Not TransactGetItems: that one is cancelled by any transaction writing one of
    the items at the same moment."""
    found: dict[tuple[str, str], Model] = {}
    keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted]
    for start in range(0, len(keys), BATCH_GET_KEYS):
        pending = keys[start:start + BATCH_GET_KEYS]
        for _ in range(10):
            response = dispatch("BatchGetItem", {"RequestItems": {table: {"Keys": pending, "ConsistentRead": True}}})
            for raw in response.get("Responses", {}).get(table, []):
                key = (raw["pk"]["S"], raw["sk"]["S"])
                found[key] = wanted[key].from_raw_data(raw)
            pending = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not pending:
                break
        else:
            raise error(f"DynamoDB left {len(pending)} keys of {table} unprocessed 10 times; retry")
    return found
