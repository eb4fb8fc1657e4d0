#!/usr/bin/env node
// The CRDT state of Yjs updates in a canonical form, decoded by the official Yjs code.
//
// stdin: one JSON object {label: hex update}. stdout: one JSON object {label: sha256 hex} or,
// for an update Yjs cannot decode, {label: "error: ..."}. Two updates hash the same when the
// documents Yjs makes of them hold the same items (id, origins, parent, key, content, clock by
// clock) and the same deletions.
//
// Why integrated first, into a Y.Doc with garbage collection on: an item whose left origin was
// already garbage-collected when it arrived has no parent to go in, and Yjs collects it too.
// yrs may keep such an item (deleted, parentless) in one replica and collect it in another,
// depending on the order things arrived in: the long websocket fuzz found a bystander holding
// one the server had collected, with the same state vector, deletions and visible content,
// and the same state once Yjs had integrated both. That is representation, not divergence.
//
// Why not re-encode with pycrdt and compare bytes: yrs keeps a JSON object's keys in hash-map
// order, which differs from one document to the next, so equal states encode differently.

import { createHash } from 'node:crypto'
import * as Y from 'yjs'

const sorted = (value) => {
  if (Array.isArray(value)) return value.map(sorted)
  if (value instanceof Uint8Array) return { binary: Buffer.from(value).toString('hex') }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted(value[key])]))
  }
  return value
}

// One entry per clock: how an item is split (which depends on the history of the document
// that encodes it) must not matter. A unit after the first of an item has the previous unit
// as its origin and no parent of its own, exactly as if the item had been split there.
const units = (c) => {
  if (!c) return null
  const name = c.constructor.name
  if (c instanceof Y.ContentString) return [...Array(c.str.length).keys()].map((i) => [name, c.str[i]])
  if (c instanceof Y.ContentAny || c instanceof Y.ContentJSON) return c.arr.map((v) => [name, sorted(v)])
  if (c instanceof Y.ContentDeleted) return Array(c.len).fill([name])
  if (c instanceof Y.ContentBinary) return [[name, sorted(c.content)]]
  if (c instanceof Y.ContentEmbed) return [[name, sorted(c.embed)]]
  if (c instanceof Y.ContentFormat) return [[name, c.key, sorted(c.value)]]
  if (c instanceof Y.ContentType) return [[name, c.type.constructor.name, c.type.nodeName ?? null]]
  if (c instanceof Y.ContentDoc) return [[name, c.doc.guid, sorted(c.opts)]]
  return [[name]]
}

const integrated = (update) => {
  const doc = new Y.Doc({ gc: true })
  Y.applyUpdate(doc, update)
  return Y.encodeStateAsUpdate(doc)
}

const canonical = (update) => {
  const { structs, ds } = Y.decodeUpdate(update)
  const items = []
  for (const s of structs) {
    const parts = units(s.content) ?? Array(s.length).fill([s.constructor.name])
    parts.forEach((part, i) => {
      const origin = i === 0 ? (s.origin ?? null) : { client: s.id.client, clock: s.id.clock + i - 1 }
      items.push([s.id.client, s.id.clock + i, s.constructor.name, origin, s.rightOrigin ?? null,
        i === 0 ? (s.parent ?? null) : null, i === 0 ? (s.parentSub ?? null) : null, part])
    })
  }
  items.sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]))
  const deleted = []
  for (const [client, ranges] of ds.clients) {
    for (const { clock, len } of ranges) deleted.push([client, clock, clock + len])
  }
  deleted.sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]))
  const merged = []
  for (const [client, start, end] of deleted) {
    const last = merged[merged.length - 1]
    if (last && last[0] === client && start <= last[2]) last[2] = Math.max(last[2], end)
    else merged.push([client, start, end])
  }
  return JSON.stringify([items, merged])
}

let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  const out = {}
  for (const [label, hex] of Object.entries(JSON.parse(input))) {
    try {
      out[label] = createHash('sha256').update(canonical(integrated(Buffer.from(hex, 'hex'))))
        .digest('hex')
    } catch (err) {
      out[label] = `error: ${err instanceof Error ? err.message : String(err)}`
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
})
