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
a second lock. They are short-polled, so nobody holds it waiting; sends and
standard queues, long-polled, stay concurrent.

moto also backs up every table a transaction touches with a deep copy, to
restore it if a condition fails: O(table) per transaction, so a table of ten
thousand items makes each one cost tens of milliseconds, and the longer a
`make dev` session or benchmark runs, the slower it gets. Under the lock
above, a copy of just the items the transaction writes restores as well.

moto's Query on the table reads (and sorts) every item of the table to find
one partition, so it too slows down as the table grows; it now reads the
partition.

And moto forgets that a message is in flight once its visibility lapsed,
even when ChangeMessageVisibility hides it again: its FIFO group is then
open to later messages while the head waits (a retry that outlived a slow
batch). In SQS a hidden message is in flight, so here too.
"""

import copy
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.server import main
from moto.sqs.models import SQSBackend
from moto.sqs.responses import SQSResponse

_lock = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialised_call_action(self):
    with _lock:
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


def _query_reads_one_partition(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name or hash_key is None or self.range_key_attr is None:
        return _query(self, hash_key, *args, **kwargs)
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


_IN_FLIGHT_ACTIONS = ("ReceiveMessage", "ChangeMessageVisibility", "DeleteMessage")


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

if __name__ == "__main__":
    main(sys.argv[1:])
