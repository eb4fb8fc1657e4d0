"""Concurrent editing traces (../shared/data, see its README) replayed by several Yjs authors.

Each author edits its own working doc, one Yjs update per trace transaction. Before one of its
transactions it must hold exactly the transactions that transaction depends on: its own
earlier ones, and a prefix of every other author's (an author's transactions form a chain).
`TracePlan` says which prefix; the replay brings it in from the other authors' own updates,
once the caller has seen the server relay them (as over a real network).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycrdt import Doc, IdMap, IdSet, XmlElement, XmlFragment, XmlText

from crdt.shape import read_update
from crdt.updates import inserts_integrated

TRACES = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass
class TracePlan:
    txns: list[dict[str, Any]]
    agents: int
    end_content: str
    # For each transaction, how many of each agent's transactions it depends on.
    needs: list[list[int]]

    @classmethod
    def load(cls, name: str, limit: int | None = None) -> TracePlan:
        with gzip.open(TRACES / name, "rt", encoding="utf-8") as handle:
            trace = json.load(handle)
        txns = trace["txns"] if limit is None else trace["txns"][:limit]
        agents = int(trace["numAgents"])
        rank: list[int] = []  # each transaction's index among its agent's
        seen = [0] * agents
        needs: list[list[int]] = []
        for txn in txns:
            rank.append(seen[txn["agent"]])
            seen[txn["agent"]] += 1
            need = [0] * agents
            for parent in txn["parents"]:
                need = [max(a, b) for a, b in zip(need, needs[parent], strict=True)]
                agent = txns[parent]["agent"]
                need[agent] = max(need[agent], rank[parent] + 1)
            needs.append(need)
        return cls(txns, agents, trace["endContent"], needs)

    def counts(self) -> tuple[Counter[int], Counter[int]]:
        """Characters each agent inserted and deleted, straight from the trace's patches."""
        inserted: Counter[int] = Counter()
        deleted: Counter[int] = Counter()
        for txn in self.txns:
            for _position, delete_count, text in txn["patches"]:
                inserted[txn["agent"]] += len(text.encode("utf-16-le")) // 2
                deleted[txn["agent"]] += delete_count
        return inserted, deleted


def paragraph_text(doc: Doc[Any], root: str) -> XmlText:
    """The one XmlText of a section's one paragraph: where a trace is typed (DESIGN §9)."""
    paragraph = doc.get(root, type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    return text


def start_paragraph(doc: Doc[Any], root: str) -> None:
    doc.get(root, type=XmlFragment).children.append(
        XmlElement("paragraph", contents=[XmlText()]))


def holds(doc: Doc[Any], update: bytes) -> bool:
    """Whether `doc` has everything `update` brings: its inserts and its deletions (an edit
    that only deletes moves no clock, so the state vector alone cannot tell)."""
    if not inserts_integrated(doc, update):
        return False
    wanted = read_update(update, 1 << 20).delete_set
    if not wanted:
        return True
    missing = IdMap.from_set(IdSet.decode(wanted), [])
    # A diff against a doc's own state carries no structs, only its whole delete set.
    missing.diff_with(IdSet.decode(doc.get_update(doc.get_state())[1:]))
    return bool(missing.is_empty())


@dataclass
class TraceAuthor:
    """One agent of a trace: its working doc and every update it made, in order."""
    agent: int
    doc: Doc[Any]
    root: str
    updates: list[bytes] = field(default_factory=list)
    # How many of each other author's updates the working doc holds.
    applied: dict[int, int] = field(default_factory=dict)

    def bring_in(self, other: TraceAuthor, count: int) -> None:
        """Apply the other author's updates up to `count` (the caller saw them relayed)."""
        done = self.applied.get(other.agent, 0)
        for update in other.updates[done:count]:
            self.doc.apply_update(update)
        self.applied[other.agent] = max(done, count)

    def edit(self, txn: dict[str, Any]) -> bytes:
        """Make one trace transaction as one Yjs update."""
        text = paragraph_text(self.doc, self.root)
        before = self.doc.get_state()
        with self.doc.transaction():
            for position, delete_count, insert in txn["patches"]:
                if delete_count:
                    del text[position:position + delete_count]
                if insert:
                    text.insert(position, insert)
        update = self.doc.get_update(before)
        self.updates.append(update)
        return update
