"""The shell every actor service runs: a transactional consume -> decide -> produce loop.

    parts.py     the service's parts and its definition (ActorDef)
    loop.py      the record path: batch, skip by header, decode, decide, stamp, queue
    commit.py    when the pending transaction commits; what commit and abort do to memory
    txn.py       one Kafka transaction per commit (outputs, changelog, offsets)
    clients.py   the consumer and the transactional producer; new ones when one breaks
    restore.py   states from the changelog on assignment (or a replay on a format change)
    rebalance.py partitions coming and going; rollback after an abort
    workers.py   executors of a worker's claims; their heartbeats and results folded
    clock.py     when the Monitor may judge time, and its tick
    stamp.py intake.py headers.py metrics.py service.py
"""

from orchestrator.shell.parts import ActorDef as ActorDef
from orchestrator.shell.service import run as run
