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
