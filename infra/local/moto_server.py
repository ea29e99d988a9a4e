"""The AWS stand-in for `make dev` and the tests: moto's server, with one fix.

moto applies a TransactWriteItems call item by item and, when a condition
fails, restores a deep copy of the table it took before starting. Under the
threaded server two concurrent transactions can then both pass their
conditions, or one's restore can erase the other's committed writes. Real
DynamoDB serialises transactions, and Lodge's invariants (one invite → one
member, one email → one member) rely on that. So every DynamoDB request runs
under one lock here.

moto's FIFO queues have the same kind of race: two concurrent ReceiveMessage
calls can both see a message group as free and hand out two of its messages,
breaking the order real SQS guarantees (the local runner receives with
several loops per queue, as Lambda does). So the requests that read or move
a FIFO queue's in-flight set (receive, change visibility, delete) run under
a second lock. A FIFO long poll takes it only for each quick look, and waits
in between without it: moto's own long poll spins at full CPU while every
visible message belongs to a group with one in flight (it waits for "a
visible message", which is already there). Here it looks again when a
message arrives, or every 100 ms (a visibility timeout ends silently).

moto also backs up every table a transaction touches with a deep copy, to
restore it if a condition fails: O(table) per transaction, so a table of ten
thousand items makes each one cost tens of milliseconds, and the longer a
`make dev` session or benchmark runs, the slower it gets. Under the lock
above, a copy of just the items the transaction writes restores as well.

moto's Query on the table reads (and sorts) every item of the table to find
one partition, so it too slows down as the table grows; it now reads the
partition. A Query on an index did the same, in Python, for every call (the
feed's pages at ten thousand posts took seconds each); it now reads one
partition of a map of the index, built in one pass and kept until the next
write request.

Payload limits as AWS enforces them: an SQS message may be 1 MiB
(1,048,576 bytes, since August 2025), counted in UTF-8 bytes of the body
plus each attribute's name, type and value (moto counts the body's
characters only); a batch, 1 MiB in all. A DynamoDB item may be 400 KB
(409,600 bytes of attribute names and values; moto allowed 405,000).

And moto forgets that a message is in flight once its visibility lapsed,
even when ChangeMessageVisibility hides it again: its FIFO group is then
open to later messages while the head waits (a retry that outlived a slow
batch). In SQS a hidden message is in flight, so here too.
"""

import base64
import copy
import sys
import threading
import time

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict, bytesize
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.server import main
from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue
from moto.sqs.models import SQSBackend
from moto.sqs.responses import SQSResponse

_lock = threading.Lock()
_call_action = DynamoHandler.call_action


# Requests that change no table; every other one bumps `_writes`, which
# ends the life of every index map (`_index_partition`).
_READS = frozenset(
    ("GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables", "DescribeTimeToLive")
)
_writes = [0]


def _serialised_call_action(self):
    with _lock:
        target = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        if target not in _READS:
            _writes[0] += 1
        return _call_action(self)


DynamoHandler.call_action = _serialised_call_action


class _TablesAreNotCopied:
    """The `copy` module as moto's DynamoDB backend sees it: a table's deep
    copy is the table itself (its only use is the transaction backup, which
    `_transact_write_items` replaces); everything else is really copied."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


dynamodb_models.copy = _TablesAreNotCopied()
_transact = dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    before = []  # (table, hash key, range key, the item as it was or None)
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        attrs = op.get("Item") or op.get("Key") or {}
        if table is None or table.hash_key_attr not in attrs:
            continue
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in attrs:
                continue
            range_key = DynamoType(attrs[table.range_key_attr])
        before.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    try:
        _transact(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(before):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
            elif item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        raise


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items

_query = Table.query


def _index_partition(table, index_name, hash_key):
    """The items of one index partition, from a map of the whole index built
    in one pass and kept until the next write (under the lock); None when the
    index's hash key is not one attribute."""
    maps = table.__dict__.setdefault("_lodge_index_maps", {})
    built = maps.get(index_name)
    if built is None or built[0] != _writes[0]:
        index = {i.name: i for i in table.all_indexes()}.get(index_name)
        hash_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"] if index else []
        if len(hash_attrs) != 1:
            return None
        groups = {}
        # Not `all_items()`, which sorts the whole table: the query sorts its results.
        for stored in table.items.values():
            for item in stored.values() if table.range_key_attr else [stored]:
                value = item.attrs.get(hash_attrs[0])
                if value is not None:
                    groups.setdefault(value, []).append(item)
        built = (_writes[0], groups)
        maps[index_name] = built
    return built[1].get(hash_key, [])


def _query_reads_one_partition(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if hash_key is None or (index_name is None and self.range_key_attr is None):
        return _query(self, hash_key, *args, **kwargs)
    if index_name:
        partition = _index_partition(self, index_name, hash_key)
        if partition is None:
            return _query(self, hash_key, *args, **kwargs)
    else:
        partition = list(self.items.get(hash_key, {}).values())
    # `query` filters `all_items()` by the hash key: hand it just the partition.
    self.all_items = lambda: partition
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


Table.query = _query_reads_one_partition

_fifo_lock = threading.Lock()
_sqs_call_action = SQSResponse.call_action


# ReceiveMessage takes the lock itself (`_fifo_receive`), only while it looks.
_IN_FLIGHT_ACTIONS = ("ChangeMessageVisibility", "DeleteMessage")


def _moves_fifo_in_flight(response):
    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    request = " ".join([body or "", str(response.querystring), response.uri, str(response.headers.get("X-Amz-Target", ""))])
    return ".fifo" in request and any(action in request for action in _IN_FLIGHT_ACTIONS)


def _sqs_serialised_on_fifo(self):
    if _moves_fifo_in_flight(self):
        with _fifo_lock:
            return _sqs_call_action(self)
    return _sqs_call_action(self)


SQSResponse.call_action = _sqs_serialised_on_fifo

_change_visibility = SQSBackend.change_message_visibility


def _hidden_means_in_flight(self, queue_name, receipt_handle, visibility_timeout):
    _change_visibility(self, queue_name, receipt_handle, visibility_timeout)
    queue = self.get_queue(queue_name)
    for message in queue._messages:
        if message.had_receipt_handle(receipt_handle) and not message.visible:
            queue.pending_messages.add(message)


SQSBackend.change_message_visibility = _hidden_means_in_flight

_receive = SQSBackend.receive_message
_FIFO_LOOK_EVERY = 0.1


def _fifo_receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None):
    queue = self.get_queue(queue_name)
    if not queue.fifo_queue:
        return _receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names)
    deadline = time.monotonic() + (wait_seconds_timeout or 0)
    while True:
        with _fifo_lock:
            result = _receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        left = deadline - time.monotonic()
        if result or left <= 0:
            return result
        with queue._messages_lock:  # notified when a message is sent
            queue._messages_lock.wait(timeout=min(_FIFO_LOOK_EVERY, left))


SQSBackend.receive_message = _fifo_receive

MAX_SQS_MESSAGE_BYTES = 1_048_576


def _attribute_bytes(attributes):
    size = 0
    for name, attr in (attributes or {}).items():
        size += len(name.encode()) + len(str(attr.get("DataType", "")).encode())
        if "StringValue" in attr:
            size += len(str(attr["StringValue"]).encode())
        elif "BinaryValue" in attr:
            value = attr["BinaryValue"]
            size += len(value) if isinstance(value, bytes) else len(base64.b64decode(value))
    return size


def _message_bytes(body, attributes):
    return len(body.encode("utf-8")) + _attribute_bytes(attributes)


_send = SQSBackend.send_message


def _send_within_size(self, queue_name, message_body, message_attributes=None, *args, **kwargs):
    limit = int(self.get_queue(queue_name).maximum_message_size)
    if _message_bytes(message_body, message_attributes) > limit:
        raise InvalidParameterValue(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )
    return _send(self, queue_name, message_body, message_attributes, *args, **kwargs)


SQSBackend.send_message = _send_within_size

_send_batch = SQSBackend.send_message_batch


def _send_batch_within_size(self, queue_name, entries):
    total = sum(_message_bytes(e["MessageBody"], e.get("MessageAttributes")) for e in entries.values())
    if total > MAX_SQS_MESSAGE_BYTES:
        raise BatchRequestTooLong(total)
    return _send_batch(self, queue_name, entries)


SQSBackend.send_message_batch = _send_batch_within_size

MAX_ITEM_BYTES = 400 * 1024


def _setitem_within_400_kb(self, key, value):
    current = sum(
        item.size() if type(item) is DynamoType else bytesize(str(item)) for item in list(self.keys()) + list(self.values())
    )
    new = bytesize(key) + (value.size() if type(value) is DynamoType else bytesize(str(value)))
    if current + new > MAX_ITEM_BYTES:
        raise ItemSizeTooLarge
    dict.__setitem__(self, key, value)


LimitedSizeDict.__setitem__ = _setitem_within_400_kb

if __name__ == "__main__":
    main(sys.argv[1:])
