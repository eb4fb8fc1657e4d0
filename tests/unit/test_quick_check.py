"""The guard's quick verdict never accepts what the probe would refuse.

Random edits by three clients (a whole-document editor and two section editors, one of them
typing in another's section too) reach the server in a shuffled order, so some depend on
content it lacks. Each is judged twice: by `quick_verdict` against the room's index, and by a
fresh probe (`Guard.check`), which is the reference. Wherever the quick verdict speaks, it must
agree; and it must speak for most keystrokes, or the fast path is dead code.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.attribution import Attribution
from crdt.guard import Guard, WriteRejected, WriteScope
from crdt.protocol import ProtocolError
from crdt.quick_check import quick_verdict
from crdt.shape import read_update

SECTIONS = ("section:a", "section:b")
DEPTH = 64


def _seed() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for name in SECTIONS:
        doc[name] = XmlFragment([XmlElement("paragraph", contents=[XmlText("seed text")])])
    return doc


def _texts(doc: Doc[Any], root: str) -> list[XmlText]:
    found: list[XmlText] = []
    for paragraph in doc.get(root, type=XmlFragment).children:
        if isinstance(paragraph, XmlElement):
            found.extend(c for c in paragraph.children if isinstance(c, XmlText))
    return found


def _random_edit(doc: Doc[Any], rng: random.Random) -> None:
    root = rng.choice(SECTIONS)
    texts = _texts(doc, root)
    roll = rng.random()
    if roll < 0.05 or not texts:
        doc.get(root, type=XmlFragment).children.append(
            XmlElement("paragraph", contents=[XmlText("new ")]))
        return
    text = rng.choice(texts)
    # Characters only: len() of a formatted XmlText counts its formatting marks as well.
    size = sum(len(chunk) for chunk, _attrs in text.diff() if isinstance(chunk, str))
    if roll < 0.7 or size == 0:
        text.insert(rng.randint(0, size), rng.choice(["a", "b ", "c", "xyz"]))
    elif roll < 0.95:
        start = rng.randrange(size)
        del text[start:min(size, start + rng.randint(1, 3))]
    else:
        start = rng.randrange(size)
        text.format(start, min(size, start + 2), {"bold": rng.random() < 0.5})


def _transaction_update(doc: Doc[Any], rng: random.Random) -> bytes:
    """A random edit's update as a Yjs client sends it: the transaction's own (its delete
    set holds that transaction's deletions only)."""
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    try:
        with doc.transaction():
            _random_edit(doc, rng)
    finally:
        doc.unobserve(subscription)
    return updates[0] if updates else b"\x00\x00"


def _probe_verdict(update: bytes, scope: WriteScope, live: Doc[Any]) -> bool | None:
    """True: accepted, False: changes nothing, None: refused."""
    try:
        return Guard(max_depth=DEPTH).check(update, scope, live)
    except (WriteRejected, ProtocolError):
        return None


@pytest.mark.parametrize("seed", range(6))
def test_the_quick_verdict_agrees_with_the_probe(seed: int) -> None:
    rng = random.Random(seed)
    live = _seed()
    index = Attribution()
    index.load(live.get_update())
    scopes = [WriteScope.everything(), WriteScope.only({SECTIONS[0]}),
              WriteScope.only({SECTIONS[1]})]
    clients: list[Doc[Any]] = []
    for _ in scopes:
        client: Doc[Any] = Doc()
        client.apply_update(live.get_update())
        clients.append(client)
    # What each connection sent and the server has not read yet, in order.
    outboxes: list[list[bytes]] = [[] for _ in scopes]
    quick_spoke = judged = 0
    for _ in range(400):
        author = rng.randrange(len(clients))
        update = _transaction_update(clients[author], rng)
        outboxes[author].append(update)
        if rng.random() < 0.1:
            # Passed to another client out of band: its next edits may depend on content
            # the server does not have yet.
            # (All the author has that it lacks: yrs panics later on a doc left with a
            # pending struct, which Yjs in a browser would not.)
            receiver = clients[rng.randrange(len(clients))]
            receiver.apply_update(clients[author].get_update(receiver.get_state()))
        while rng.random() < 0.6:
            sender = rng.randrange(len(clients))
            if not outboxes[sender]:
                continue
            update = outboxes[sender].pop(0)
            shape = read_update(update, DEPTH)
            quick = quick_verdict(shape, scopes[sender], frozenset(), index)
            reference = _probe_verdict(update, scopes[sender], live)
            judged += 1
            if quick is not None:
                quick_spoke += 1
                assert quick == reference, (sender, update)
            if reference:
                live.apply_update(update)
                index.credit(shape, str(sender))
                for other in clients:
                    if other is not clients[sender]:  # relayed to the others
                        other.apply_update(update)
            elif reference is None:
                # Refused: the connection closes, its client starts over from the server.
                outboxes[sender].clear()
                fresh: Doc[Any] = Doc()
                fresh.apply_update(live.get_update())
                clients[sender] = fresh
    assert judged > 200
    assert quick_spoke > judged // 2, (quick_spoke, judged)


def test_a_retired_or_foreign_root_goes_to_the_probe() -> None:
    live = _seed()
    index = Attribution()
    index.load(live.get_update())
    client: Doc[Any] = Doc()
    client.apply_update(live.get_update())
    before = client.get_state()
    _texts(client, SECTIONS[1])[0].insert(0, "x")
    shape = read_update(client.get_update(before), DEPTH)
    assert quick_verdict(shape, WriteScope.everything(), frozenset(), index) is True
    assert quick_verdict(shape, WriteScope.only({SECTIONS[0]}), frozenset(), index) is None
    assert quick_verdict(shape, WriteScope.nothing(), frozenset(), index) is None
    assert quick_verdict(shape, WriteScope.everything(), frozenset({SECTIONS[1]}), index) is None
