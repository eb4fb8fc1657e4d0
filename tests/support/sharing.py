"""A document shared with one member, as the websocket tests need it: the owner has written
two sections and holds an open connection, the member has accepted their invitation."""

from __future__ import annotations

from dataclasses import dataclass

from pycrdt import XmlFragment, XmlText

from tests.support.api import Api, by_link
from tests.support.server import ServerProcess
from tests.support.yclient import YClient


@dataclass
class Shared:
    document_id: str
    section_a: str
    section_b: str
    owner: YClient


def text_of(client: YClient, root: str) -> str:
    return str(client.doc.get(root, type=XmlFragment))


async def append(client: YClient, root: str, text: str) -> bytes:
    return await client.edit(lambda d: d.get(root, type=XmlFragment).children.append(
        XmlText(text)))


async def connect(server: ServerProcess, api: Api, document_id: str,
                  resume: YClient | None = None) -> YClient:
    url = f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    return await YClient(url, resume=resume).connect_synced()


async def share(server: ServerProcess, owner: Api, member: Api, role: str,
                scoped: bool = False) -> Shared:
    """Owner writes sections A ("alpha") and B ("bravo"), then invites `member` (an editor
    `scoped` to A), who accepts."""
    document_id = await owner.create_document("Report")
    ids = []
    for title in ("Budget", "Methods"):
        response = await owner.http.post(f"/api/documents/{document_id}/sections",
                                         json={"title": title})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    roots = [f"section:{i}" for i in ids]
    owner_client = await connect(server, owner, document_id)
    await append(owner_client, roots[0], "alpha")
    await append(owner_client, roots[1], "bravo")
    body: dict[str, object] = {"email": member.user["email"], "role": role, "reason": "expertise"}
    if scoped:
        body["sections"] = [ids[0]]
    response = await owner.http.post(f"/api/documents/{document_id}/invitations", json=body)
    assert response.status_code == 201, response.text
    accepted = await member.http.post(f"/api/invitations/{response.json()['id']}/accept",
                                      json=by_link(response.json()))
    assert accepted.status_code == 200, accepted.text
    return Shared(document_id, roots[0], roots[1], owner_client)
