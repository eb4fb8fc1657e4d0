"""Per-document maintenance with clients of one document on two processes (issue 12, item 3):
one process indexes each round of changes for search, holding what clients on both processes
wrote; one checkpoint is made of a pause, crediting the editors of both.

How they fail: without the round claims (`app.search.claims`) both processes index the burst,
and the count of indexings is two; with claims but the claimant reading its own room instead of
the log, a word written on the other process can be missing from the index. Without the
nothing-new check in `app.history.storage.record`, each process records its own checkpoint of
the pause: two versions, one editor each.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pycrdt import XmlElement, XmlFragment, XmlText

from tests.cluster.conftest import StartCluster
from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

INDEX_DELAY_SECONDS = 2.0


async def _health(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        health: dict[str, Any] = (await http.get("/api/health")).json()
        return health


async def _settled(servers: list[ServerProcess]) -> int:
    """Documents indexed so far on all processes, once none has an indexing pending."""
    async with asyncio.timeout(20):
        while True:
            healths = [await _health(server) for server in servers]
            if not any(h["search_pending"] for h in healths):
                return sum(int(h["search_indexed"]) for h in healths)
            await asyncio.sleep(0.1)


async def _paragraph(client: YClient, root: str, text: str) -> None:
    """As the browser's editor writes one."""
    await client.edit(lambda doc: doc.get(root, type=XmlFragment).children.append(
        XmlElement("paragraph", contents=[XmlText(text)])))


async def _hits(api: Api, query: str) -> list[dict[str, Any]]:
    response = await api.http.get("/api/search", params={"q": query})
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()
    return hits


async def test_a_burst_on_two_processes_is_indexed_once_with_both_processes_words(
    start_cluster: StartCluster,
) -> None:
    servers = await start_cluster(2, search_index_delay_seconds=str(INDEX_DELAY_SECONDS))
    async with Api(servers[0].base_url) as owner:
        await owner.sign_up("Owner")
        document_id = await owner.create_document("Field notes")
        root = await owner.add_section(document_id, "Tuesday")
        clients = [await YClient(f"{server.ws_url}/{document_id}?ticket="
                                 f"{await owner.ticket(document_id)}").connect_synced()
                   for server in servers]
        try:
            before = await _settled(servers)
            # Well within one round: the first commit claims it, the others defer to it.
            await _paragraph(clients[0], root, "We saw a quokkaphant.")
            await _paragraph(clients[1], root, "The marmaladium froze.")
            await _paragraph(clients[0], root, "A gravelock at dawn.")
            await asyncio.sleep(INDEX_DELAY_SECONDS / 2)
            assert await _settled(servers) - before == 1
            for word in ("quokkaphant", "marmaladium", "gravelock"):
                assert [h["document_id"] for h in await _hits(owner, word)] == [document_id]
        finally:
            for client in clients:
                await client.close()


async def test_a_pause_on_two_processes_makes_one_checkpoint_crediting_both_editors(
    start_cluster: StartCluster,
) -> None:
    servers = await start_cluster(2, checkpoint_quiet_seconds="1",
                                  checkpoint_max_seconds="3600")
    async with Api(servers[0].base_url) as owner, Api(servers[1].base_url) as editor:
        await owner.sign_up("Olive")
        await editor.sign_up("Ed")
        document_id = await owner.create_document("Field notes")
        root = await owner.add_section(document_id, "Tuesday")
        await owner.add_member(editor, document_id, "editor")
        clients = [await YClient(f"{server.ws_url}/{document_id}?ticket="
                                 f"{await api.ticket(document_id)}").connect_synced()
                   for server, api in zip(servers, (owner, editor), strict=True)]
        try:
            await _paragraph(clients[0], root, "Olive writes.")
            await _paragraph(clients[1], root, "Ed writes.")
            async with asyncio.timeout(10):
                while any(len(c.doc.get(root, type=XmlFragment).children) < 2 for c in clients):
                    await asyncio.sleep(0.05)
            # Both processes' checkpoints are due a second after their last edit.
            await asyncio.sleep(4)
            response = await owner.http.get(f"/api/documents/{document_id}/versions")
            assert response.status_code == 200, response.text
            versions = response.json()
            assert [v["kind"] for v in versions] == ["auto"], versions
            assert sorted(e["name"] for e in versions[0]["editors"]) == ["Ed", "Olive"]
        finally:
            for client in clients:
                await client.close()
