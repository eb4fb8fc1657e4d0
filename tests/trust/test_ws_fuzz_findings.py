"""Server bugs the websocket fuzzers and the crash campaign found, each as its smallest
reproduction on a real server.

Each is a strict xfail until fixed: the marker comes off with the fix. The property fuzzer
(test_ws_property_fuzz.py) leaves the shapes that trigger these out of its corpus unless
WIDEN_FUZZ_KNOWN_BUGS=1, so it keeps finding the next ones meanwhile; once one is fixed, its
shape belongs back in every run.
"""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Map, Text, XmlFragment, XmlText, create_update_message, write_var_uint

from tests.support.api import Api
from tests.support.jsclient import JsYClient
from tests.support.server import ServerProcess
from tests.support.sharing import append, connect, share, text_of
from tests.support.wire import RawConnection, recording_client, sync

pytestmark = pytest.mark.shared_server


def _delete_set(client: int, clock: int, length: int) -> bytes:
    """An update with no new content that deletes `length` clocks of `client` from `clock`."""
    return (b"\x00" + write_var_uint(1) + write_var_uint(client) + write_var_uint(1)
            + write_var_uint(clock) + write_var_uint(length))


def _map_chain(holder: Map[Any], key: str, depth: int) -> None:
    """`depth` maps inside each other under `holder[key]`, one level at a time."""
    holder[key] = Map()
    node = holder[key]
    for _ in range(depth - 1):
        node["c"] = Map()
        node = node["c"]


@pytest.mark.xfail(strict=True, reason=(
    "a deletion of one half of a surrogate pair is accepted, and the server's document then "
    "encodes with shifted clocks (yrs 0.28 via pycrdt 0.14 splits the string item with a "
    "phantom unit: its state vector claims one clock more than exists, and every re-encoding "
    "adds another); a client that joins afterwards drops the next character the writer types"))
async def test_deleting_half_a_surrogate_pair_does_not_make_later_joiners_lose_edits(
    live_server: ServerProcess, alice: Api
) -> None:
    """Found by the fuzzers (a mutated delete set; it also makes tests/test_fuzz.py fail at
    some message counts). Yjs's own `text.delete(1, 1)` on "😀" sends exactly this deletion:
    any browser whose editor deletes one UTF-16 unit of an emoji triggers it."""
    document_id = await alice.create_document()
    writer = await recording_client(live_server, alice, document_id)
    await writer.insert(0, "😀")
    conn = await RawConnection.open(live_server, alice, document_id)
    await conn.roundtrip(sync(2, _delete_set(writer.doc.client_id, 1, 1)))  # either answer
    await conn.close()
    newcomer = await recording_client(live_server, alice, document_id)
    await writer.append("XY")
    await newcomer.wait_text(str(writer.text()), timeout=5)
    assert not newcomer.errors
    await live_server.aterminate()
    live_server.restart()
    stored = await recording_client(live_server, alice, document_id)
    assert str(stored.text()) == str(writer.text())
    for client in (writer, newcomer, stored):
        await client.close()


@pytest.mark.parametrize("root", ["own section", "root map"])
async def test_maps_nested_beyond_the_bound_under_an_existing_root_are_refused(
    live_server: ServerProcess, alice: Api, bob: Api, root: str
) -> None:
    """Issue 7 item 1 came back through map entries: an editor scoped to one section nests
    maps as an entry of that section's root (or any member under a root map that exists), as
    deep as it likes. Found by the property fuzzer (a map chain of depth 129, accepted)."""
    shared = await share(live_server, alice, bob, "editor", scoped=(root == "own section"))
    name = shared.section_a if root == "own section" else "settings"
    if root == "root map":
        await shared.owner.edit(lambda doc: doc.get(name, type=Map).__setitem__("theme", "dark"))
    attacker = await connect(live_server, bob, shared.document_id)
    await attacker.edit(lambda doc: _map_chain(doc.get(name, type=Map), "deep", 129))
    assert await attacker.wait_closed(5) == 1003
    assert attacker.close_reason.startswith("too-deep")
    fresh = await connect(live_server, alice, shared.document_id)
    assert "deep" not in fresh.doc.get(name, type=Map)
    await fresh.close()


def _string_update(client: int, info: int, root: str, text: str) -> bytes:
    """One string item at the start of root `root`, with the struct info byte given."""
    def string(value: str) -> bytes:
        return write_var_uint(len(value.encode())) + value.encode()

    return (write_var_uint(1) + write_var_uint(1) + write_var_uint(client) + write_var_uint(0)
            + bytes([info]) + write_var_uint(1) + string(root) + string(text)
            + write_var_uint(0))


async def test_every_update_the_server_relays_decodes_in_the_official_yjs_client(
    live_server: ServerProcess, alice: Api
) -> None:
    """Found by decoding with Yjs the updates the server had accepted from the attackers of
    tests/test_fuzz.py (one in a 2,000-message run). Any member's client can send such bytes;
    whatever the server accepts it must be able to hand to every client."""
    document_id = await alice.create_document()
    browser = JsYClient()
    await browser.start(live_server.ws_url, document_id, ticket=await alice.ticket(document_id))
    try:
        await browser.wait_synced()
        # As Yjs would encode it, but for bit 4 of the info byte (content kind 4: a string).
        assert _string_update(7, 0x04, "body", "hi")[4] == 0x04
        conn = await RawConnection.open(live_server, alice, document_id)
        await conn.roundtrip(sync(2, _string_update(7, 0x14, "body", "hi")))  # either answer
        await conn.close()
        reader = await recording_client(live_server, alice, document_id)
        await browser.wait_text("body", str(reader.text()), timeout=5)
        assert not [e for e in browser.events if e.get("event") == "error"]
        await reader.close()
    finally:
        await browser.close()


def _format_entry_update(client: int, root: str, key: str) -> bytes:
    """A map entry under root `root` whose content is a formatting mark (content kind 6: a
    key and a JSON value), which no Yjs client puts in a map but any member can send."""
    def string(value: str) -> bytes:
        return write_var_uint(len(value.encode())) + value.encode()

    return (write_var_uint(1) + write_var_uint(1) + write_var_uint(client) + write_var_uint(0)
            + bytes([0x26]) + write_var_uint(1) + string(root) + string(key)
            + string("bold") + string("true") + write_var_uint(0))


async def test_a_formatting_mark_as_a_map_entry_is_taken_like_any_value_less_entry(
    live_server: ServerProcess, alice: Api
) -> None:
    """Found by the long property fuzz (100,000 messages, at about 20,000): the depth check
    read the map's values with `Map.values()`, which raises KeyError for such an entry (the
    engine lists its key but holds no value), so the connection died with 1006 and a valid
    message sent with it was lost. It is an entry without a value, as Yjs reads it."""
    document_id = await alice.create_document()
    browser = JsYClient()
    await browser.start(live_server.ws_url, document_id, ticket=await alice.ticket(document_id))
    try:
        await browser.wait_synced()
        conn = await RawConnection.open(live_server, alice, document_id)
        assert await conn.roundtrip(sync(2, _format_entry_update(11, "meta", "alt")))
        writer = await recording_client(live_server, alice, document_id)
        await writer.insert(0, "still writing")
        await browser.wait_text("body", "still writing", timeout=5)
        assert not [e for e in browser.events if e.get("event") == "error"]
        assert "alt" not in writer.doc.get("meta", type=Map)
        await conn.close()
        await writer.close()
    finally:
        await browser.close()


def _typed_entry_update(client: int, root: str, key: str, type_ref: int) -> bytes:
    """A map entry under root `root` holding a new shared type whose type ref is `type_ref`
    (content kind 7). Yjs knows refs 0 to 6 (array, map, text, element, fragment, hook, xml
    text); yrs takes others too (15, its "undefined" branch) and encodes them back."""
    def string(value: str) -> bytes:
        return write_var_uint(len(value.encode())) + value.encode()

    return (write_var_uint(1) + write_var_uint(1) + write_var_uint(client) + write_var_uint(0)
            + bytes([0x27]) + write_var_uint(1) + string(root) + string(key)
            + write_var_uint(type_ref) + write_var_uint(0))


def test_the_typed_entry_update_is_what_yjs_makes_for_a_map() -> None:
    """With ref 1, the bytes above are pycrdt's own for a map set into a map."""
    doc: Doc[Any] = Doc(client_id=9)
    doc.get("meta", type=Map)["m"] = Map()
    assert doc.get_update() == _typed_entry_update(9, "meta", "m", 1)


async def test_a_type_yjs_does_not_know_is_refused_before_it_breaks_every_browser(
    live_server: ServerProcess, alice: Api
) -> None:
    """Found by the long property fuzz (segment 1 of a 100,000-message run): an update made a
    shared type of ref 15; the server, every client and the stored document agreed on it, and
    the official Yjs client could load none of them ("typeRefs[...] is not a function"): one
    message from any writer and no browser could open the document again."""
    document_id = await alice.create_document()
    conn = await RawConnection.open(live_server, alice, document_id)
    assert not await conn.roundtrip(sync(2, _typed_entry_update(12, "meta", "bad", 15)))
    assert conn.close_code == 1003 and (conn.ws.close_reason or "").startswith("undecodable")
    browser = JsYClient()
    await browser.start(live_server.ws_url, document_id, ticket=await alice.ticket(document_id))
    try:
        await browser.wait_synced()
        writer = await recording_client(live_server, alice, document_id)
        await writer.insert(0, "still opens")
        await browser.wait_text("body", "still opens", timeout=5)
        assert not [e for e in browser.events if e.get("event") == "error"]
        await writer.close()
    finally:
        await browser.close()


def test_the_string_update_is_what_yjs_makes() -> None:
    """The reproduction above changes one bit of what a Yjs client sends; this pins that the
    rest of it is a real update (pycrdt writes the same bytes for the same edit)."""
    doc: Doc[Any] = Doc(client_id=7)
    doc.get("body", type=Text).insert(0, "hi")
    assert doc.get_update() == _string_update(7, 0x04, "body", "hi")


async def test_nobody_continues_another_users_client_id(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    """Issue 7 item 5 as an attacker would do it: the tests of that item forge from clock 0,
    which is refused; a forger who starts where the owner stopped is not. Found while building
    the crash campaign (a resync that carried another user's lost edits was never refused)."""
    shared = await share(live_server, alice, bob, "editor")
    owner = shared.owner
    await owner.close()  # offline for a moment, typing on
    with owner.doc.transaction():
        owner.doc.get(shared.section_a, type=XmlFragment).children.append(XmlText(" mine"))
    impostor = await connect(live_server, bob, shared.document_id)
    forger: Doc[Any] = Doc(client_id=owner.doc.client_id)
    forger.apply_update(impostor.doc.get_update())
    before = forger.get_state()
    forger.get(shared.section_a, type=XmlFragment).children.append(XmlText(" forged"))
    await impostor.send(create_update_message(forger.get_update(before)))
    assert await impostor.wait_closed(5) == 4403
    assert impostor.close_reason.startswith("foreign-client-id")
    back = await connect(live_server, alice, shared.document_id, resume=owner)
    await append(back, shared.section_a, " again")
    fresh = await connect(live_server, bob, shared.document_id)
    await fresh.wait_for(lambda: text_of(fresh, shared.section_a) == "alpha mine again", 5)
    for client in (back, fresh):
        await client.close()
