"""moto's server, embedded in this process, with every request serialized.

moto's backends do not serialize DynamoDB writes; real DynamoDB makes each item write
atomic. One lock around the WSGI app restores that, so conditional writes behave as in
AWS and the concurrency guarantees are really tested (DESIGN.md)."""

from __future__ import annotations

import collections
import functools
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.core.config import default_user_config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per AWS call drowns the console
        pass


class SerializedApp:
    def __init__(self, app):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            # the body is produced inside the lock too: moto builds it eagerly, but be sure
            return list(self._app(environ, start_response))


class _CopyWith:
    """A moto module's `copy` (moto calls `copy.deepcopy` through the module's name) with its own
    deepcopy: `deepcopy(obj, memo)`; everything else is `outer`'s (the module `copy` by default)."""

    def __init__(self, deepcopy, outer=None):
        import copy

        self.deepcopy, self.outer = deepcopy, outer if outer is not None else copy

    def __getattr__(self, name):
        return getattr(self.outer, name)


def fast_transactions() -> None:
    """moto makes a failed TransactWriteItems undo itself by deep-copying each table the
    transaction touches before every transaction: O(table size) each time, so a thousand
    registrations take minutes. Here only the items a transaction touches are saved, and
    put back when it fails (the lock above keeps the whole transaction atomic)."""
    import copy

    from moto.dynamodb import models as ddb

    if getattr(ddb.DynamoDBBackend.transact_write_items, "caspr_fast", False):
        return
    original = ddb.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        if _stream_add is None:
            return _transact(self, transact_items)
        _pending_stream.records = []  # stream records wait for the commit (see outbox_streams)
        try:
            result = _transact(self, transact_items)
            records, _pending_stream.records = _pending_stream.records, None
            for shard, old, new in records:
                _stream_add(shard, old, new)
            return result
        finally:
            _pending_stream.records = None

    def _transact(self, transact_items):
        try:
            saved = []
            for entry in transact_items:
                op_type, op = next(iter(entry.items()))
                table = self.get_table(op["TableName"])
                if op_type == "Put":
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                current = self.get_item(op["TableName"], key)
                saved.append((op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        except Exception:
            return original(self, transact_items)  # malformed: moto's own path reports it
        outer = ddb.copy  # outside transactions: fast_update_images' copy
        ddb.copy = _CopyWith(lambda obj, memo=None: obj if isinstance(obj, ddb.Table) else outer.deepcopy(obj, memo),
                             outer)
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attrs in reversed(saved):
                if attrs is not None:
                    self.put_item(table_name, attrs)
                elif self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            raise
        finally:
            ddb.copy = outer

    transact_write_items.caspr_fast = True
    ddb.DynamoDBBackend.transact_write_items = transact_write_items


_pending_stream = threading.local()
_stream_add = None


def outbox_streams() -> None:
    """DynamoDB streams as the outbox relay sees them on AWS:
    - a transaction's stream records appear only when it commits (moto writes the items of a
      TransactWriteItems one by one and puts them back when a condition fails, leaving the
      records of a change that never happened in the stream);
    - only outbox items are streamed (on AWS the relay's FilterCriteria drops the rest; here
      dropping them at the source saves the serialized emulator a JSON dump per write)."""
    global _stream_add
    from moto.dynamodb.models import table as ddb_table

    from shared.adapters.outbox import OUTBOX

    if _stream_add is not None:
        return
    _stream_add = ddb_table.StreamShard.add

    def add(shard, old, new):
        record = new if new is not None else old
        if record is None or not str(getattr(record.hash_key, "value", "")).startswith(OUTBOX):
            return
        pending = getattr(_pending_stream, "records", None)
        if pending is not None:
            pending.append((shard, old, new))
        else:
            _stream_add(shard, old, new)

    ddb_table.StreamShard.add = add


def fast_update_images() -> None:
    """moto's UpdateItem deep-copies the item before changing it, for the stream record's old
    image only (the item's only other copy, for a failed transaction, is fast_transactions'):
    ~10 % of an UpdateItem of a 1 KiB item. The stream keeps only outbox records
    (outbox_streams), and an outbox item is never updated by the services; so the copy is
    made for outbox items only, and other items' records, dropped anyway, get the item."""
    import copy

    from moto.dynamodb import models as ddb

    from shared.adapters.outbox import OUTBOX

    if isinstance(ddb.copy, _CopyWith):
        return

    def deepcopy(obj, memo=None):
        if type(obj) is ddb.Item and not str(getattr(obj.hash_key, "value", "")).startswith(OUTBOX):
            return obj
        return copy.deepcopy(obj, memo)

    ddb.copy = _CopyWith(deepcopy)


def fast_sizes() -> None:
    """moto sizes every item of a Query's page twice (for the 1 MB page limit), and a map's
    size wrapped each of its values in a new DynamoType, rebuilding nested maps and lists
    first: ~20 % of a Query of an applicant's items. The same sizes here, without the
    rebuilding and the is_*() calls (sets, rare, still go through moto's own code)."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    if getattr(DynamoType.size, "caspr_fast", False):
        return
    original = DynamoType.size

    def of(value) -> int:
        return size(value) if type(value) is DynamoType else DynamoType(value).size()

    def size(self) -> int:
        kind, value = self.type, self.value
        if kind == "N":
            return len(str(value))
        if kind == "L":
            return sum(of(v) for v in value)
        if kind == "M":
            return sum(bytesize(k) + of(v) for k, v in value.items())
        if kind in ("SS", "NS", "BS"):
            return original(self)
        return 1 if isinstance(value, bool) else bytesize(value)

    size.caspr_fast = True
    size.moto_size = original  # for the tests comparing both
    DynamoType.size = size


def sized_once() -> None:
    """moto builds an item attribute by attribute into a dict that re-sizes everything it already
    holds at each insert (to refuse an item over ~400 KB): O(n^2) sizes per item written. Here the
    item is sized once, whole: the same refusal (ItemSizeTooLarge) for the same items, since the
    running total only grows."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, "caspr_fast", False):
        return
    original = Item.__init__

    def __init__(self, hash_key, range_key, attrs):
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(str(key)) + value.size() for key, value in values.items()) > 405000:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(self.attrs, values)

    __init__.caspr_fast = True
    __init__.moto_init = original  # for the tests comparing both
    Item.__init__ = __init__


def patch_moto() -> None:
    """Every change the local stack (and the integration tests) make to moto."""
    fast_transactions()
    if os.environ.get("CASPR_MOTO_SPEEDUPS", "") != "off":  # off: the baseline of bench/bench_local_stack.py
        fast_queries()
        fast_queues()
        fast_update_expressions()
        fast_responses()
        fast_dispatch()
        fast_conditions()
        fast_update_validation()
        fast_update_images()
        fast_sizes()
        sized_once()
    outbox_streams()
    fast_event_targets()


def fast_queries() -> None:
    """moto answers every Query (of the table or of an index) by sorting the whole table and
    then filtering it: O(n log n) of slow comparisons per call, so a table of 15,000 items
    took ~0.3 s per Query and every query of a long local session got slower (the outbox
    sweep's eight pending-index queries per service, every projection lookup). Here the
    query sees only the items whose partition key matches (DynamoDB's own model: a Query
    reads one partition); moto's code does the rest exactly as before on that subset, except
    that a page nothing will project is handed out without moto's deep copy of it (page_copy)."""
    import copy
    import inspect

    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Item, Table

    if getattr(Table.query, "caspr_fast", False):
        return
    original, every_item = Table.query, Table.all_items
    signature = inspect.signature(original)
    scope = threading.local()  # the integration tests call moto from many threads at once

    def all_items(self):
        subset = getattr(scope, "subset", None)
        return subset[1] if subset is not None and subset[0] is self else every_item(self)

    def same(value, expected: DynamoType) -> bool:
        if value is None:
            return False
        if value.type == expected.type == "S":
            return value.value == expected.value
        return value == expected

    def query(self, *args, **kwargs):
        arguments = signature.bind(self, *args, **kwargs).arguments
        index_name, hash_key = arguments.get("index_name"), arguments.get("hash_key")
        conditions = list(arguments.get("hash_key_conditions") or [])
        if index_name:
            if not conditions:
                return original(self, *args, **kwargs)
            if len(conditions) == 1 and conditions[0][1].type == "S":  # the usual index key: one string
                name, wanted = conditions[0][0], conditions[0][1].value
                candidates = []
                for partition in self.items.values():
                    for item in (partition.values() if self.range_key_attr else (partition,)):
                        value = item.attrs.get(name) if type(item) is Item else None
                        if value is not None and value.type == "S" and value.value == wanted:
                            candidates.append(item)
            else:
                candidates = [item for partition in self.items.values()
                              for item in (partition.values() if self.range_key_attr else (partition,))
                              if isinstance(item, Item) and all(same(item.attrs.get(a), v) for a, v in conditions)]
        else:
            if hash_key is None:
                return original(self, *args, **kwargs)
            partition = self.items.get(hash_key)
            if partition is None:
                candidates = []
            else:
                candidates = list(partition.values()) if self.range_key_attr else [partition]
                # a sort key prefix (begins_with, the services' usual query of a big partition such as a
                # season's): only the items whose sort key has it (moto still applies the condition)
                # (without a Limit: moto's pages would end one page sooner than over the whole partition)
                objs = arguments.get("range_objs") or []
                if (self.range_key_attr and str(arguments.get("range_comparison") or "").upper() == "BEGINS_WITH"
                        and len(objs) == 1 and objs[0].type == "S" and not arguments.get("limit")):
                    prefix = objs[0].value
                    candidates = [i for i in candidates if i.range_key is not None and i.range_key.type == "S"
                                  and i.range_key.value.startswith(prefix)]
        candidates.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
        scope.subset = (self, candidates)
        # moto deep-copies the page before it projects it; with nothing to project (the table, or an
        # index of ALL attributes, and no ProjectionExpression) the page is only read: serialized into
        # new dicts, a FilterExpression evaluated on it
        scope.share = not arguments.get("projection_expressions") and (
            not index_name or all_projected(self, index_name))
        try:
            return original(self, *args, **kwargs)
        finally:
            scope.subset = None
            scope.share = False

    def all_projected(table, index_name: str) -> bool:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        return index is not None and (index.projection or {}).get("ProjectionType") == "ALL"

    def page_copy(obj, memo=None):
        """moto.dynamodb.models.table's deepcopy: the query's page (a list of items) is handed out
        as it is when the query above found nothing will change it; everything else deep-copied."""
        if getattr(scope, "share", False) and type(obj) is list:
            return list(obj)
        return copy.deepcopy(obj, memo)

    query.caspr_fast = True
    query.moto_query, all_items.moto_all_items = original, every_item  # for the tests comparing both
    Table.query = query
    Table.all_items = all_items
    table_module.copy = _CopyWith(page_copy)


def fast_queues() -> None:
    """moto's SQS receive checks each message's retention by computing every attribute of the
    queue, approximate counts included (a pass over all its messages): receiving a backlog of
    n messages cost O(n^2) (a thousand registrations left queues of thousands), and sending
    one read the same attributes. The retention is read directly here, sending reads only the
    attribute it uses, GetQueueAttributes computes the attributes once (not once per name), and
    the visible messages and the counts read the clock once per pass."""
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend.is_message_valid_based_on_retention_period, "caspr_fast", False):
        return
    original_attributes = SQSBackend.get_queue_attributes

    def is_message_valid_based_on_retention_period(self, queue_name, message) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    def get_queue_attributes(self, queue_name, attribute_names):
        if not attribute_names or "All" in attribute_names:
            return original_attributes(self, queue_name, attribute_names)
        queue = self.get_queue(queue_name)  # refuses an unknown queue as moto does
        valid = ["All"] + queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES + queue.KMS_ATTRIBUTES
        if any(name not in valid for name in attribute_names):
            return original_attributes(self, queue_name, attribute_names)  # moto's error
        every = queue.attributes
        return {name: every[name] for name in attribute_names if every.get(name) is not None}

    # sending a message reads one attribute (FIFO deduplication) of the whole attribute dict:
    # without the three counts (each a pass over the queue), or sending n messages is O(n^2)
    every_attribute, original_send = Queue.attributes.fget, SQSBackend.send_message
    sending = threading.local()

    def attributes(self):
        if getattr(sending, "active", False):  # send_message and add_message read only this one
            if not self.fifo_queue:
                return {}
            return {"ContentBasedDeduplication": str(bool(self.content_based_deduplication)).lower()}
        return every_attribute(self)

    def send_message(self, *args, **kwargs):
        sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            sending.active = False

    # the visible messages and the counts: one clock reading per pass, not two per message
    def messages(self):
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed_count(self):
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible_count(self):
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    # deleting a received message looked for its receipt handle twice over the whole queue,
    # building each message's list of handles as it went: a pass of slow steps per deleted
    # message (a queue holding 4,000 delivered applications: O(n^2) to drain). One pass of plain
    # comparisons here; what it deletes, and refuses, is moto's.
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: deleting it again is fine
        kept, gone = [], []
        for m in self._messages:
            if m.receipt_handle == receipt_handle or receipt_handle in m._old_receipt_handles:
                gone.append(m)
            else:
                kept.append(m)
        if not gone:
            raise ReceiptHandleIsInvalid()
        for m in gone:
            self.pending_messages.discard(m)
            self.deleted_messages.update(m.all_receipt_handles)
        self._messages = kept

    delete_message.moto_delete_message = Queue.delete_message  # for the test comparing both
    Queue.delete_message = delete_message
    is_message_valid_based_on_retention_period.caspr_fast = True
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    SQSBackend.get_queue_attributes = get_queue_attributes
    SQSBackend.send_message = send_message
    Queue.attributes = property(attributes)
    Queue.messages = property(messages)
    Queue.approximate_number_of_messages_delayed = property(delayed_count)
    Queue.approximate_number_of_messages_not_visible = property(not_visible_count)


def fast_update_expressions() -> None:
    """moto parses an UpdateExpression twice per UpdateItem (~2 ms each for a projection's
    dozen SETs) and deep-copies the tree before validating it (~1.7 ms). Parsed once per
    expression text here, and copied through pickle (~0.7 ms); same trees, same errors."""
    import copy
    import pickle

    from moto.dynamodb.parsing import expressions, validators

    if getattr(expressions.UpdateExpressionParser.make, "caspr_fast", False):
        return
    parse = expressions.UpdateExpressionParser.make

    @functools.lru_cache(maxsize=1024)
    def parsed(text: str) -> bytes:
        return pickle.dumps(parse(text), pickle.HIGHEST_PROTOCOL)

    def make(cls, expression_str):
        if cls is not expressions.UpdateExpressionParser or not isinstance(expression_str, str):
            return parse.__func__(cls, expression_str)
        tree = pickle.loads(parsed(expression_str))
        tree.caspr_source = expression_str  # carried by the validator's copy (see checked_once)
        return tree

    def fast_copy(obj, memo=None):
        try:
            return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
        except Exception:
            return copy.deepcopy(obj, memo)

    make.caspr_fast = True
    expressions.UpdateExpressionParser.make = classmethod(make)
    validators.deepcopy = fast_copy
    checked_once(validators)


def checked_once(validators) -> None:
    """Three of the ten processors moto's UpdateExpressionValidator runs over the tree check only
    the expression itself, against its attribute names and the table's key attributes (at most
    one clause of each kind, no overlapping paths, no key attribute updated), and return each
    node unchanged: each walks the whole tree, and two of them search it again for clauses (~25 %
    of a transaction of updates). Once an expression has passed every processor with given names
    on a table of given keys, those three are left out of its next validations; an expression
    that failed anything is checked in full again."""
    expression_only = (validators.ActionCountValidator, validators.OverlappingPathsValidator,
                       validators.UpdateHashRangeKeyValidator)
    original = validators.UpdateExpressionValidator.validate
    passed: set[tuple] = set()

    def validate(self):
        source = getattr(self.node_to_validate, "caspr_source", None)
        key = None
        if source is not None:
            names = self.expression_attribute_names or {}
            key = (source, tuple(sorted(names.items())), tuple(self.table.table_key_attrs))
            if key in passed:
                self.processors = [p for p in self.processors if not isinstance(p, expression_only)]
        node = original(self)
        if key is not None:
            if len(passed) > 10_000:
                passed.clear()
            passed.add(key)
        return node

    validate.moto_validate = original  # for the tests comparing both
    validators.UpdateExpressionValidator.validate = validate


class _NotPlain(Exception):
    """A value fast_responses does not handle (a model object, not a dict): moto serializes it."""


def fast_responses(services: tuple[str, ...] = ("dynamodb", "dynamodbstreams")) -> None:
    """moto serializes every JSON-protocol answer by walking the operation's output shape and,
    for each member of each structure, asking an attribute picker to try up to a dozen aliases
    of its name (context objects, string transforms): each DynamoDB attribute value is a
    structure of ten members, so a Query of 300 items of six values cost ~0.3 s (and the
    outbox relay's GetRecords as much per image). DynamoDB's and its streams' answers are
    plain dicts by then (moto's dynamo_to_dict), for which the aliases a member can
    be found under depend only on the shape: computed once here with moto's own alias providers,
    then the same walk (same key order, same conversions of strings, blobs, numbers,
    timestamps, same quirks of lists) without the per-value picker. Errors, answers with
    response transformers, and any value that is not a plain dict/list go through moto."""
    from enum import Enum

    from moto.core import serialize as ser

    if getattr(ser.JSONSerializer._serialize_result, "caspr_fast", False):
        return
    original = ser.JSONSerializer._serialize_result
    absent = object()
    candidates: dict[tuple[str, str, str], tuple[str, ...]] = {}

    def keys_of(parent, key: str, shape) -> tuple[str, ...]:
        cache_key = (parent.name, key, shape.name)
        found = candidates.get(cache_key)
        if found is None:
            shape.parent = parent  # as moto's walk sets it (ShapePrefixAlias reads it)
            context = ser.AttributePickerContext(obj={}, key=key, shape=shape)
            picker = ser.XFormedAttributePicker()
            found = candidates[cache_key] = tuple(dict.fromkeys(picker.get_possible_keys(context)))
        return found

    plans: dict[tuple[str, str], tuple[list, dict[str, list[int]]]] = {}

    def plan_of(self, shape):
        """A structure's members (key, shape, aliases, output name) in the shape's order, and
        which members each alias can fill: a value dict is matched by its own keys (an
        attribute value has one of its ten members), not by trying every member's aliases."""
        name = (self.service_model.service_name, shape.name)  # unique within a service model
        plan = plans.get(name)
        if plan is None:
            members = [(key, member, keys_of(shape, key, member), member.serialization.get("name", key))
                       for key, member in shape.members.items()]
            index: dict[str, list[int]] = {}
            for position, (_, _, aliases, _) in enumerate(members):
                for alias in aliases:
                    index.setdefault(alias, []).append(position)
            plan = plans[name] = (members, index)
        return plan

    def walk(self, value, shape):
        kind = shape.type_name
        if kind == "structure":
            if value is None:
                return absent
            if shape.is_document_type:
                return value
            if type(value) is not dict:
                raise _NotPlain
            members, index = plan_of(self, shape)
            out = {}
            # only the members one of the value's keys can fill, in the shape's order (moto's)
            positions = [p for k in value for p in index.get(k, ())]
            if len(positions) > 1:
                positions = sorted(set(positions))
            for position in positions:
                member_key, member, aliases, output = members[position]
                member_value = None
                for k in aliases:
                    if k in value:
                        member_value = value[k]
                        break
                if member_value is not None:
                    serialized = walk(self, member_value, member)
                    if serialized is not absent:
                        out[output] = serialized
            return out
        if kind == "map":
            if type(value) is not dict:
                raise _NotPlain
            out = {}
            for k, v in value.items():
                serialized = walk(self, v, shape.value)
                if serialized is not absent:
                    out[k] = serialized
            return out
        if kind == "list":
            if type(value) is not list:
                raise _NotPlain
            member = shape.member
            named = member.serialization.get("name", member.name) == member.name
            items = []
            for item in value:
                serialized = walk(self, item, member)
                items.append(serialized if named and serialized is not absent else item)  # moto's own quirk
            return items
        if kind == "string":
            if isinstance(value, Enum):
                value = value.value
            return str(value) if value not in [None, {}, []] else value
        if kind == "blob":
            return self._base64(value)
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "timestamp":
            wrapper: dict = {}
            self._timestamp_serializer.serialize(wrapper, value, shape, "timestamp")
            return wrapper["timestamp"]
        return value

    def _serialize_result(self, resp, result):
        shape = self.operation_model.output_shape
        picker = self._value_picker
        if (shape is None or self.service_model.service_name not in services or type(result) is not dict
                or type(picker) is not ser.XFormedAttributePicker or picker.response_transformers):
            return original(self, resp, result)
        try:
            serialized = walk(self, result, shape)
        except _NotPlain:
            return original(self, resp, result)
        return self._serialized_result_to_response(resp, result, shape, serialized)

    _serialize_result.caspr_fast = True
    _serialize_result.moto_serialize_result = original  # for the tests comparing both
    ser.JSONSerializer._serialize_result = _serialize_result


def fast_conditions() -> None:
    """moto parses a ConditionExpression (lexing, paths, functions, precedence) twice per
    conditional write (once to check the names and values used, once to evaluate), ~1 ms
    each, and a booking's transaction has a dozen; the outbox relay marks each item delivered
    under the same `attribute_exists` every time. Here a parse is kept per (expression,
    names, values) with what it found (the names and values used): the same inputs give the
    same tree (moto's Op objects, which evaluation never changes) and the same findings; any
    other input is parsed as before, and an expression moto refuses is refused again each
    time (failures are not kept)."""
    import copy

    from moto.dynamodb import comparisons, models, responses

    if getattr(comparisons.create_condition_expression_parser, "caspr_fast", False):
        return
    moto_parser = comparisons.ConditionExpressionParser
    parsed: dict = {}

    class KeptParser(moto_parser):
        def parse(self):
            expr, names, values = (self.condition_expression, self.expression_attribute_names,
                                   self.expression_attribute_values)
            if not expr:
                return super().parse()
            key = (expr, repr(sorted(names.items())) if names else "", repr(sorted(values.items())) if values else "")
            kept = parsed.get(key)
            if kept is None:
                self.expression_attribute_values = copy.deepcopy(values)  # the tree's own: a request's may change
                op = super().parse()
                if len(parsed) >= 4096:
                    parsed.clear()
                kept = parsed[key] = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            else:
                self.expr_attr_names_found.extend(kept[1])
                self.expr_attr_values_found.extend(kept[2])
            return kept[0]

    def create_condition_expression_parser(expr, names, values):
        return KeptParser(expr, names, values)

    create_condition_expression_parser.caspr_fast = True
    create_condition_expression_parser.moto_create = comparisons.create_condition_expression_parser  # for tests
    for module in (comparisons, models, responses):
        module.create_condition_expression_parser = create_condition_expression_parser


def fast_update_validation() -> None:
    """moto validates an UpdateExpression with ten processors, each walking the whole tree and
    asking of every node `isinstance(node, Node)` (an ABC: the slow path) and whether it is
    one of the processor's node classes (a dict and a tuple built anew per node): ~30% of a
    booking's transaction. The same walk here, with both answers remembered per node class
    (and per processor class: its node classes are fixed per class); same order, same hooks,
    same replacements."""
    from moto.dynamodb.parsing import ast_nodes

    traverser = ast_nodes.DepthFirstTraverser
    if getattr(traverser.traverse_node_recursively, "caspr_fast", False):
        return
    node_class = ast_nodes.Node
    is_node: dict[type, bool] = {}
    processed: dict[tuple[type, type], bool] = {}

    def traverse_node_recursively(self, node, child_id=-1):
        kind = type(node)
        node_like = is_node.get(kind)
        if node_like is None:
            node_like = is_node[kind] = isinstance(node, node_class)
        if node_like:
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            key = (type(self), kind)
            wanted = processed.get(key)
            if wanted is None:
                wanted = processed[key] = isinstance(node, self.nodes_to_be_processed())
            if wanted:
                node = self.process(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    traverse_node_recursively.caspr_fast = True
    traverse_node_recursively.moto_traverse = traverser.traverse_node_recursively  # for the tests comparing both
    traverser.traverse_node_recursively = traverse_node_recursively


def fast_dispatch() -> None:
    """Two costs moto pays on every request: the names of the handler class's methods are
    listed through inspect.getmembers (hundreds of members) to check the action exists,
    and the whole response body is searched with a look-behind regex for an XML <RequestId>
    even when it is JSON (a Query of 300 items: the whole body). The method names are listed
    once per class here (the classes never change), and the search runs only on a body that
    contains <RequestId> (the only bodies it can change)."""
    from moto.core import responses

    if hasattr(responses.method_names_from_class, "cache_info"):
        return
    responses.method_names_from_class = functools.lru_cache(maxsize=256)(
        lambda clazz, names=responses.method_names_from_class: frozenset(names(clazz)))
    enrich = responses.BaseResponse._enrich_response

    def _enrich_response(headers, body):
        if isinstance(body, str) and "<RequestId>" not in body:
            if "status" in headers:
                headers["status"] = str(headers["status"])
            responses.gen_amzn_requestid_long(headers)
            return headers, body
        return enrich(headers, body)

    _enrich_response.moto_enrich_response = enrich
    responses.BaseResponse._enrich_response = staticmethod(_enrich_response)


def fast_event_targets() -> None:
    """moto's EventBridge compiles the same JSONPath expressions (its default input
    template) for every target of every event; compiled once here."""
    import functools

    import jsonpath_ng.ext as jsonpath

    if not hasattr(jsonpath.parse, "cache_info"):
        jsonpath.parse = functools.lru_cache(maxsize=1024)(jsonpath.parse)


def cached_backend_lookup() -> None:
    """moto's server finds the backend of every request by listing its own package directory
    (hundreds of stat calls per AWS call); the list never changes while the process runs."""
    from moto import backends

    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.lru_cache(maxsize=1)(lambda: modules)


class InProcessTransport:
    """A botocore `before-send` hook: a request for the embedded emulator is handed to its
    WSGI app (the same serialized app, the same lock) in the calling thread, with no socket.
    The werkzeug server closes every connection, so over HTTP each AWS call paid a TCP
    connection and a new server thread: about 4 ms of CPU for a GetItem against about 1 ms
    here, and the local stack's event delivery is a chain of such calls. Clients outside
    this process (the browser's presigned uploads, `aws --endpoint-url`) still use HTTP."""

    def __init__(self):
        self.app = None
        self.prefix = ""

    def attach(self, app, endpoint_url: str) -> None:
        self.app, self.prefix = app, endpoint_url.rstrip("/") + "/"

    def detach(self) -> None:
        self.app, self.prefix = None, ""

    def __call__(self, request, **kwargs):
        app = self.app
        if app is None or not (request.url + "/").startswith(self.prefix):
            return None
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = [(k, v.decode("latin-1") if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()
                   if k.lower() != "expect"]
        if isinstance(app, EmulatorProcess):
            status, out, content = app.call("aws", request.method, request.url, headers, body or b"")
        else:
            status, out, content = answer(app, request.method, request.url, headers, body or b"")
        return AWSResponse(request.url, status, out, MockRawResponse(content))


def answer(app, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict, bytes]:
    """One AWS request answered by the emulator's app in this process: (status, headers, body)."""
    named = dict(headers)
    handler = _direct_handler(named, method, url)
    if handler is not None:
        return _direct(app, handler, method, url, named, body)
    parts = urlsplit(url)
    environ = EnvironBuilder(path=parts.path or "/", base_url=f"{parts.scheme}://{parts.netloc}",
                             query_string=parts.query, method=method, headers=headers, data=body).get_environ()
    app_iter, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    try:
        content = b"".join(app_iter)
    finally:
        getattr(app_iter, "close", lambda: None)()
    return int(status.split(" ", 1)[0]), dict(response_headers), content


def _direct(app, handler, method: str, url: str, headers: dict[str, str], body: bytes):
    """The service's moto handler called as moto's own Flask route would call it (the same
    request class, URL and headers, ClientError and HTTPException answered the same way),
    under the same lock, without Flask's request context, routing and response objects and
    the domain dispatcher (~11 % of a simulated season's CPU)."""
    from botocore.exceptions import ClientError
    from moto.moto_server.werkzeug_app import BackendRequest
    from werkzeug.exceptions import HTTPException

    req = _LeanRequest.of(method, url, headers, body) or BackendRequest.from_primitives(method, url, headers, body)
    with app._lock:
        try:
            status, out_headers, content = handler(req, req.raw_url, dict(req.headers))
        except ClientError as exc:
            status, out_headers, content = 400, {}, exc.response["Error"]["Message"]
        except HTTPException as exc:
            status, out_headers, content = exc.code, dict(exc.get_headers()), exc.get_body()
    if isinstance(content, str):
        content = content.encode("utf-8")
    out = {str(k): str(v) for k, v in out_headers.items() if k != "status"}
    out.setdefault("Content-Type", "text/html; charset=utf-8")  # what Flask adds to a bare answer
    out["Content-Length"] = str(len(content))
    return int(status), out, content


class _LeanHeaders(dict):
    """A request's headers as werkzeug's EnvironHeaders gives them (names as WSGI rebuilds them,
    `X-Amz-Target`), looked up without regard to case, as werkzeug does."""

    def __init__(self, pairs: list[tuple[str, str]]):
        super().__init__(pairs)
        self.lower = {k.lower(): v for k, v in pairs}

    def get(self, key, default=None, type=None):  # noqa: A002  (werkzeug's signature)
        value = self.lower.get(key.lower(), default)
        return value if type is None or value is default else type(value)

    def __getitem__(self, key):
        return self.lower[key.lower()]

    def __contains__(self, key):
        return isinstance(key, str) and key.lower() in self.lower


class _LeanRequest:
    """What moto's BaseResponse.setup_class and the JSON-protocol handlers (DIRECT_TARGETS) read of
    a request, without building werkzeug's WSGI environ and request objects (~30 % of a GetItem's
    time in the emulator): a POST of a JSON body to the endpoint's root, with no query string, no
    form and no content encoding; any other request gets moto's own request class."""

    from_wsgi_server = True  # as BackendRequest, the request class of moto's app
    content_encoding = None
    query_string = b""

    def __init__(self, method: str, url: str, netloc: str, headers: _LeanHeaders, body: bytes):
        from werkzeug.datastructures import ImmutableMultiDict

        self.method, self.raw_url, self.headers, self.data = method, url, headers, body
        self.form = self.files = self.values = ImmutableMultiDict()
        self.path = self.raw_path = "/"
        self.content_type = headers.get("Content-Type")
        self.content_length = len(body)
        self.environ = {"HTTP_HOST": netloc}

    @classmethod
    def of(cls, method: str, url: str, headers: dict[str, str], body: bytes) -> _LeanRequest | None:
        scheme, sep, rest = url.partition("://")
        netloc, slash, path = rest.partition("/")
        if method != "POST" or not sep or path or not isinstance(body, bytes) or any(
                k.lower() in ("content-encoding", "transfer-encoding", "host") or "_" in k for k in headers):
            return None
        # in werkzeug's order: Host, Content-Type, Content-Length, then the others as sent
        pairs = [("Host", netloc), ("Content-Type", None), ("Content-Length", str(len(body)))]
        for k, v in headers.items():
            name = k.title()  # as werkzeug's EnvironHeaders rebuilds a name (no "_" here) from the environ
            if name == "Content-Type":
                pairs[1] = (name, v.decode("latin-1") if isinstance(v, bytes) else v)
            elif name != "Content-Length":
                pairs.append((name, v.decode("latin-1") if isinstance(v, bytes) else v))
        if pairs[1][1] is None or not pairs[1][1].startswith(("application/x-amz-json", "application/json")):
            return None  # a form (the query protocol: SES) is parsed by moto's own request class
        return cls(method, f"{scheme}://{netloc}/", netloc, _LeanHeaders(pairs), body)


TRANSPORT = InProcessTransport()
# the requests that skip moto's Flask app in process: the local stack's every DynamoDB, stream,
# queue and bus call (their handlers answer from the JSON body; nothing of Flask is read)
DIRECT_TARGETS = {"DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodbstreams",
                  "AmazonSQS": "sqs", "AWSEvents": "events"}
_DIRECT: dict[str, object] = {}


def _direct_handler(headers, method: str = "", url: str = ""):
    """The moto handler of a JSON-protocol request of the DIRECT_TARGETS services (by its
    X-Amz-Target, as moto's dispatcher tells them apart: DynamoDB Streams signs as dynamodb), or
    of an SES (v1, query protocol) request: a POST to the endpoint's root signed for `ses` (every
    email the services send)."""
    if os.environ.get("CASPR_MOTO_SPEEDUPS", "") == "off":
        return None
    target = headers.get("X-Amz-Target") or b""
    if isinstance(target, bytes):
        target = target.decode("latin-1")
    service = DIRECT_TARGETS.get(target.split(".", 1)[0])
    if service is None and not target and method == "POST" and url.endswith("/") and url.count("/") == 3:
        auth = headers.get("Authorization") or ""
        if isinstance(auth, bytes):
            auth = auth.decode("latin-1")
        if "/ses/aws4_request" in auth:
            service = "ses"
    if service is None:
        return None
    handler = _DIRECT.get(service)
    if handler is None:
        from moto.dynamodb.responses import DynamoHandler
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
        from moto.events.responses import EventsHandler
        from moto.ses.responses import EmailResponse
        from moto.sqs.urls import dispatch as sqs_dispatch

        _DIRECT.update({"dynamodb": DynamoHandler.dispatch, "dynamodbstreams": DynamoDBStreamsHandler.dispatch,
                        "events": EventsHandler.dispatch, "sqs": sqs_dispatch, "ses": EmailResponse.dispatch})
        handler = _DIRECT[service]
    return handler


UNSIGNED_IN_PROCESS = ("dynamodb", "dynamodbstreams", "sqs", "events")


def skip_signing_in_process() -> None:
    """SigV4 signing cost ~10% of the local stack's CPU in a booking rush (a canonical request,
    four HMACs per AWS call) for an emulator that never checks a signature. A standard request
    of the hot services (UNSIGNED_IN_PROCESS) to the in-process emulator gets the header's
    shape instead: the same credential scope (access key, date, region, service), from which
    moto reads the account, region and service, and no signature. Presigned URLs and POSTs,
    other services, and requests to anywhere else are signed as before."""
    from datetime import UTC, datetime

    from botocore.signers import RequestSigner

    if getattr(RequestSigner.sign, "caspr_fast", False):
        return
    original = RequestSigner.sign

    def sign(self, operation_name, request, region_name=None, signing_type="standard", expires_in=None,
             signing_name=None):
        name = signing_name or self._signing_name
        if (signing_type != "standard" or name not in UNSIGNED_IN_PROCESS or TRANSPORT.app is None
                or not (request.url + "/").startswith(TRANSPORT.prefix) or self._credentials is None
                or os.environ.get("CASPR_MOTO_SPEEDUPS", "") == "off"):
            return original(self, operation_name, request, region_name, signing_type, expires_in, signing_name)
        region = region_name or request.context.get("signing", {}).get("region") or self._region_name
        credentials = self._credentials.get_frozen_credentials()
        now = datetime.now(UTC)
        request.headers["X-Amz-Date"] = now.strftime("%Y%m%dT%H%M%SZ")
        if credentials.token:
            request.headers["X-Amz-Security-Token"] = credentials.token
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{now:%Y%m%d}/{region}/{name}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=in-process")

    sign.caspr_fast = True
    sign.botocore_sign = original  # for the tests comparing both
    RequestSigner.sign = sign


# DynamoDB's answers parsed by json.loads alone (fast_item_answers): the output shapes' members,
# which carry nothing but JSON types once binary values (B, BS) and nulls are ruled out
PLAIN_JSON_OUTPUTS = {
    "GetItemOutput": {"Item", "ConsumedCapacity"},
    "QueryOutput": {"Items", "Count", "ScannedCount", "LastEvaluatedKey", "ConsumedCapacity"},
    "ScanOutput": {"Items", "Count", "ScannedCount", "LastEvaluatedKey", "ConsumedCapacity"},
    "BatchGetItemOutput": {"Responses", "UnprocessedKeys", "ConsumedCapacity"},
    "PutItemOutput": {"Attributes", "ConsumedCapacity", "ItemCollectionMetrics"},
    "UpdateItemOutput": {"Attributes", "ConsumedCapacity", "ItemCollectionMetrics"},
    "DeleteItemOutput": {"Attributes", "ConsumedCapacity", "ItemCollectionMetrics"},
    "TransactWriteItemsOutput": {"ConsumedCapacity", "ItemCollectionMetrics"},
    "TransactGetItemsOutput": {"ConsumedCapacity", "Responses"},
    "BatchWriteItemOutput": {"UnprocessedItems", "ItemCollectionMetrics", "ConsumedCapacity"},
}


def fast_item_answers() -> None:
    """botocore walks every JSON answer along its output shape to turn blobs and timestamps into
    bytes and datetimes: for DynamoDB's item answers, a walk over every attribute of every item
    (~12 % of the stack's CPU in a simulated season) that changes nothing unless an item holds a
    binary value (B, BS) or the answer a null (a member botocore leaves out). Such an answer of
    the shapes above is json.loads'ed alone; any other answer, or one containing `"B"`, `"BS"`
    or `null` anywhere, goes through botocore's walk as before."""
    import json

    from botocore import parsers

    if getattr(parsers.JSONParser._handle_json_body, "caspr_fast", False) or os.environ.get(
            "CASPR_MOTO_SPEEDUPS", "") == "off":
        return
    original = parsers.JSONParser._handle_json_body

    def plain(shape) -> bool:
        members = PLAIN_JSON_OUTPUTS.get(shape.name)
        return members is not None and shape.type_name == "structure" and shape.members.keys() == members

    def _handle_json_body(self, raw_body, shape):
        if (shape is not None and raw_body and plain(shape) and b'"B"' not in raw_body and b'"BS"' not in raw_body
                and b"null" not in raw_body):
            parsed = json.loads(raw_body)
            if type(parsed) is dict and parsed.keys() <= PLAIN_JSON_OUTPUTS[shape.name]:
                return parsed
        return original(self, raw_body, shape)

    _handle_json_body.caspr_fast = True
    _handle_json_body.botocore_handle_json_body = original  # for the tests comparing both
    parsers.JSONParser._handle_json_body = _handle_json_body


def cached_user_agent_parts() -> None:
    """botocore rebuilds the User-Agent header for every call, cleaning each of its ~20 parts
    character by character (~5% of a DynamoDB call's CPU on the client side); the cleaning is a
    pure function of (text, allow_hash), remembered here."""
    from botocore import useragent

    if os.environ.get("CASPR_MOTO_SPEEDUPS", "") == "off" or hasattr(
            useragent.sanitize_user_agent_string_component, "cache_info"):
        return
    useragent.sanitize_user_agent_string_component = functools.lru_cache(maxsize=4096)(
        useragent.sanitize_user_agent_string_component)


def shared_botocore_loader() -> None:
    """Every botocore session of this process reads the service models through one loader.
    PynamoDB makes a botocore session per thread (and each new gateway thread uses its models
    anew), powertools one per idempotency layer: each new session's first client parsed the
    DynamoDB model, the endpoints and the endpoint rules from JSON again, ~13 % of the stack's
    CPU in a simulated season. The loader keeps parsed models per (name, type, version); what it
    hands out is not modified by its users (botocore builds its own objects on top)."""
    import botocore.loaders
    import botocore.session

    if os.environ.get("CASPR_MOTO_SPEEDUPS", "") == "off" or getattr(botocore.session.create_loader, "caspr_shared",
                                                                       False):
        return
    original = botocore.loaders.create_loader
    loaders: dict[str | None, object] = {}
    lock = threading.Lock()

    def create_loader(search_path_string=None):
        with lock:
            loader = loaders.get(search_path_string)
            if loader is None:
                loader = loaders[search_path_string] = original(search_path_string)
            return loader

    create_loader.caspr_shared = True
    botocore.session.create_loader = create_loader


def _install_transport() -> None:
    """Every botocore session made from now on (boto3's, PynamoDB's, powertools') has the hook;
    the default boto3 session, if one exists already, gets it too."""
    import boto3
    import botocore.handlers

    skip_signing_in_process()
    cached_user_agent_parts()
    shared_botocore_loader()
    fast_item_answers()
    if ("before-send", TRANSPORT) not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(("before-send", TRANSPORT))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION._session.register("before-send", TRANSPORT)


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, in_process: bool = True):
        patch_moto()
        cached_backend_lookup()
        for key, value in MOTO_CONFIG.items():
            default_user_config.setdefault(key, {}).update(value)  # type: ignore[attr-defined]
        self.app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(host, port, self.app, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        # CASPR_EMULATOR_TRANSPORT=http: every call over HTTP (the baseline of bench/bench_local_stack.py)
        self._in_process = in_process and os.environ.get("CASPR_EMULATOR_TRANSPORT", "") != "http"

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        if self._in_process:
            _install_transport()
            TRANSPORT.attach(self.app, self.endpoint_url)
        return self

    def stop(self) -> None:
        if TRANSPORT.app is self.app:
            TRANSPORT.detach()
        self._server.shutdown()

    def sent_emails(self) -> list[dict]:
        """Every email SES "sent" so far."""
        return sent_emails()

    def cpu_seconds(self) -> float:
        """The CPU time of this process, which the emulator shares with the stack."""
        return time.process_time()


def sent_emails() -> list[dict]:
    from moto.ses.models import ses_backends

    out = []
    for account in ses_backends.values():
        for backend in account.values():
            for m in backend.sent_messages:
                recipients = [a for v in (m.destinations or {}).values() for a in v]
                out.append({"id": m.id, "to": recipients, "from": m.source, "subject": m.subject, "body": m.body})
    return out


class EmulatorProcess:
    """The emulator in a process of its own, for the runs that need both cores (the season
    simulator, `make run DEMO=large`): the services, the gateway and the pollers in this
    process build, send and parse their AWS calls while moto answers the previous one over
    there, instead of both taking turns on one core (the GIL). Each call of this process
    crosses a pipe (InProcessTransport): the same answer function over there, the same one
    lock, so every call is still atomic and in order. Other clients (browsers' presigned
    uploads, Step Functions' own calls, `aws --endpoint-url`) use its HTTP port as before."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._host, self._port = host, port
        self._lock = threading.Lock()  # one call written at a time, its reply awaited in order
        self._waiting: collections.deque = collections.deque()
        self._endpoint = ""
        self._conn = None
        self._proc = None
        self._reader: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return self._endpoint

    def start(self) -> EmulatorProcess:
        import secrets
        import subprocess
        import sys
        from multiprocessing.connection import Listener

        key = secrets.token_bytes(32)
        with Listener(("127.0.0.1", 0), authkey=key) as listener:
            address = "{}:{}".format(*listener.address)
            # a fresh interpreter (not fork: this process may have threads; not multiprocessing's
            # spawn: it would import the caller's __main__ again)
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "from caspr_local.emulator import _serve_process; _serve_process()",
                 address, self._host, str(self._port)],
                stdin=subprocess.PIPE, cwd=str(Path(__file__).resolve().parent.parent))
            self._proc.stdin.write(key.hex().encode() + b"\n")
            self._proc.stdin.close()
            listener._listener._socket.settimeout(120)
            self._conn = listener.accept()
        self._endpoint = self._conn.recv()
        self._reader = threading.Thread(target=self._read_replies, name="emulator-replies", daemon=True)
        self._reader.start()
        _install_transport()
        TRANSPORT.attach(self, self._endpoint)
        return self

    def call(self, op: str, *args):
        """One operation answered over there. Calls are pipelined: the emulator answers them one
        by one, in the order they were written, so a caller writes its call and waits for its
        own reply while the emulator works through the ones before it; the emulator does not sit
        idle while this process (its GIL) gets round to reading the previous reply and writing
        the next call, which held each call's turn about twice as long as its answer took."""
        reply = _Reply()
        with self._lock:
            if self._conn is None:
                raise RuntimeError(f"the emulator process is not running ({op})")
            self._waiting.append(reply)
            try:
                self._conn.send((op, args))
            except Exception:
                self._waiting.remove(reply)
                raise
        ok, value = reply.wait()
        if not ok:
            raise RuntimeError(f"the emulator process failed {op}: {value}")
        return value

    def _read_replies(self) -> None:
        """The replies, in the order of the calls (one thread reads them all)."""
        conn = self._conn
        while True:
            try:
                answered = conn.recv()
            except (EOFError, OSError) as exc:
                with self._lock:
                    left, self._conn = list(self._waiting), None
                    self._waiting.clear()
                for reply in left:
                    reply.give((False, f"the emulator process went away ({type(exc).__name__})"))
                return
            self._waiting.popleft().give(answered)

    def sent_emails(self) -> list[dict]:
        return self.call("sent_emails")

    def cpu_seconds(self) -> float:
        """The CPU time the emulator process has used so far."""
        return self.call("cpu_seconds")

    def stop(self) -> None:
        if TRANSPORT.app is self:
            TRANSPORT.detach()
        try:
            self.call("stop")
        except (EOFError, OSError, RuntimeError):
            pass
        if self._reader is not None:
            self._reader.join(timeout=10)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except Exception:
                self._proc.kill()


class _Reply:
    """One pipelined call's reply: given by the reader thread, awaited by the caller."""

    __slots__ = ("_done", "_value")

    def __init__(self):
        self._done = threading.Lock()
        self._done.acquire()
        self._value = None

    def give(self, value) -> None:
        self._value = value
        self._done.release()

    def wait(self):
        self._done.acquire()
        return self._value


GC_THRESHOLDS = (50_000, 20, 20)


def fewer_collections() -> None:
    """The local stack's processes allocate hundreds of thousands of short-lived objects per second
    (parsed requests and answers) and keep a large heap that never dies (moto's tables, the loaded
    code): with Python's default thresholds (700, 10, 10) the cyclic collector ran ~30,000 times in a
    simulated season of 500 applicants and took ~17 s of CPU in the two processes. What is loaded
    at the start is frozen out of the collections (gc.freeze), and they run less often; nothing in
    the stack relies on when a cycle is collected."""
    import gc

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _serve_process() -> None:
    """The emulator process (argv: the parent's address, host, port; the key on stdin): moto's
    server on a port, and the parent's calls answered over the connection."""
    import logging
    import sys
    import warnings
    from multiprocessing.connection import Client

    logging.getLogger("moto").setLevel(logging.ERROR)
    # as in the stack's process: resources of the stack's template that are AWS-only
    warnings.filterwarnings("ignore", message=".*not supported by moto.s CloudFormation.*")
    address, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    key = bytes.fromhex(sys.stdin.readline().strip())
    at, _, at_port = address.rpartition(":")
    conn = Client((at, int(at_port)), authkey=key)
    emulator = Emulator(host, port).start()  # its own boto3 calls (Step Functions' integrations) in-process
    fewer_collections()
    point_sdk_at(emulator.endpoint_url)
    conn.send(emulator.endpoint_url)
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            break
        if op == "stop":
            conn.send((True, None))
            break
        try:
            if op == "aws":
                result = answer(emulator.app, *args)
            elif op == "sent_emails":
                result = sent_emails()
            elif op == "cpu_seconds":
                result = time.process_time()
            else:
                raise ValueError(f"unknown operation {op}")
        except Exception as exc:  # moto's app answers 500 for what it did not catch; so does this
            if op == "aws":
                result = (500, {"Content-Type": "text/plain"}, f"{type(exc).__name__}: {exc}".encode())
            else:
                conn.send((False, f"{type(exc).__name__}: {exc}"))
                continue
        conn.send((True, result))
    emulator.stop()


def point_sdk_at(endpoint_url: str, region: str = "us-east-1") -> None:
    """Every boto3/botocore/PynamoDB client in this process talks to the emulator."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    # moto's Step Functions calls its service integrations (sqs:sendMessage of the Match state
    # machine) through boto3 at localhost:$MOTO_PORT: point it at this emulator's port
    os.environ["MOTO_PORT"] = str(endpoint_url.rsplit(":", 1)[-1].strip("/"))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
