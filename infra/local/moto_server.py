"""The AWS stand-in for `make dev` and the tests: moto's server, with one fix.

moto applies a TransactWriteItems call item by item and, when a condition
fails, restores a deep copy of the table it took before starting. Under the
threaded server two concurrent transactions can then both pass their
conditions, or one's restore can erase the other's committed writes. Real
DynamoDB serialises transactions, and Lodge's invariants (one invite → one
member, one email → one member) rely on that. So every DynamoDB request runs
under one lock here; other services (SQS long polling) stay concurrent.
"""

import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_lock = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialised_call_action(self):
    with _lock:
        return _call_action(self)


DynamoHandler.call_action = _serialised_call_action

if __name__ == "__main__":
    main(sys.argv[1:])
