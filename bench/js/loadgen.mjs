// Load generator for y-websocket-protocol servers (yjs 13 wire protocol).
//
// Why Node + yjs: the clients must be cheap enough that a 2-core machine spends its CPU on the
// server under test, not on the load. yjs in V8 applies a one-character update in a few
// microseconds, where a pycrdt client pays Python call overhead per message and per event;
// one Node process drives hundreds of clients on one core.
//
// Why rooms never span processes: every client of a room lives in this process, so the send
// time of an edit (recorded by its author) and its receipt time (recorded by each peer) come
// from the same monotonic clock, `performance.now()`. No cross-process clock skew enters the
// latency figures.
//
// How an edit is identified: each edit appends exactly one ASCII character, which in Yjs costs
// exactly one clock tick of its author's client id. So the edit's id is (clientID, clock); the
// author stores its send time at `sendTimes[clock]`, and a receiver learns which edits a
// remote transaction integrated by diffing the transaction's before/after state vectors.
// That also works when a server coalesces several edits into one message.
//
// Protocol with the parent (bench/loadgen.py): argv[2] is a JSON config file. The process
// prints JSON lines on stdout: {"event":"ready",...} once every client has synced, then waits
// for a stdin line {"cmd":"start","t0":<epoch ms>}; it edits during [t0, t0 + duration],
// waits for every edit to reach every peer (bounded), verifies the final texts, writes the
// result JSON to config.resultPath and prints {"event":"done"}.
//
// Every client appends to the root Y.Text config.textName, unless its room lists
// `textNames` (one per url): then each client appends to its own root (bench/guard.py gives
// each client the root of its own section), and a room is verified root by root.
//
// Framing (config.framing): 'y-websocket' sends the bare y-protocols messages, one document
// per socket named by the URL. 'hocuspocus' speaks Hocuspocus' framing (read from
// @hocuspocus/server 4.7's ClientConnection, Connection, MessageReceiver and OutgoingMessage,
// and its provider's AuthenticationMessage): every message in both directions starts with the
// document name as a lib0 varString, here the room's name, and the server handles nothing of
// a document until an Auth message (type 2, submessage Token 0, varString token; any token
// when no auth hook is set) has been accepted, so that goes first. The server's own messages
// (its auth answer, a SyncStatus for every update received, awareness, stateless) carry no
// edits and are read past; a Close message (type 7) means the server dropped the document
// from this socket, which counts as an unexpected close.

import { readFileSync, writeFileSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const MSG_SYNC = 0
const MSG_AUTH = 2
const MSG_HOCUSPOCUS_CLOSE = 7
// Hocuspocus' auth submessages (@hocuspocus/common AuthMessageType); y-protocols' auth
// message has one only, 0 = permission denied.
const HOCUSPOCUS_AUTH_TOKEN = 0
const HOCUSPOCUS_AUTH_DENIED = 1
const HOCUSPOCUS_AUTH_OK = 2
const HOCUSPOCUS_TOKEN = 'bench'
const REMOTE = Symbol('remote')

const epochNow = () => performance.timeOrigin + performance.now()

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const periodMs = 1000 / config.hz
const hocuspocus = (config.framing ?? 'y-websocket') === 'hocuspocus'
if (!hocuspocus && config.framing !== undefined && config.framing !== 'y-websocket') {
  throw new Error(`unknown framing ${config.framing}`)
}

/** Global counters; a delivery is one edit integrated by one peer (not its author). */
const freshStats = () => ({
  latencies: [],
  deliveries: 0,
  deliveriesInWindow: 0,
  foreignClocks: 0,
  scheduleLag: [],
  unexpectedCloses: [],
  messagesIn: 0,
  bytesIn: 0,
  messagesOut: 0,
  bytesOut: 0,
  gcPauses: []
})
let stats = freshStats()

// GC pauses stall every client of this process at once: record them, so that a latency tail
// caused by the load generator itself can be told apart from one caused by the server.
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) stats.gcPauses.push(entry.duration)
}).observe({ entryTypes: ['gc'] })
let windowStart = Infinity
let windowEnd = -Infinity
let expectedTotal = Infinity
let onDrained = null

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const fail = (message) => {
  emit({ event: 'error', message })
  process.exit(1)
}

const checkDrained = () => {
  if (onDrained !== null && stats.deliveries >= expectedTotal) {
    const resolve = onDrained
    onDrained = null
    resolve()
  }
}

class Room {
  constructor (name) {
    this.name = name
    this.clients = []
    /** @type {Map<number, BenchClient>} */
    this.byClientId = new Map()
  }

  add (client) {
    // Random 32-bit client ids almost never collide; if they do, latency matching would be
    // wrong, so pick again.
    while (this.byClientId.has(client.doc.clientID)) {
      client.doc.clientID = Math.floor(Math.random() * 0xffffffff)
    }
    this.byClientId.set(client.doc.clientID, client)
    this.clients.push(client)
  }
}

class BenchClient {
  constructor (room, url, textName = config.textName) {
    this.room = room
    this.url = url
    this.doc = new Y.Doc()
    this.textName = textName
    this.text = this.doc.getText(textName)
    this.sendTimes = []
    this.sent = 0
    this.recvNow = 0
    this.synced = false
    this.closing = false
    this.ws = null
    this.timer = null
    // What every message starts with: nothing, or (Hocuspocus) the document's name.
    const prefix = encoding.createEncoder()
    if (hocuspocus) encoding.writeVarString(prefix, room.name)
    this.prefix = encoding.toUint8Array(prefix)
    // Subscribed only around our own edits (see edit()): while a doc has an 'update'
    // listener, yjs encodes every transaction, remote ones included, which is wasted work.
    this.sendUpdate = (update) => {
      const encoder = this.encoder()
      encoding.writeVarUint(encoder, MSG_SYNC)
      syncProtocol.writeUpdate(encoder, update)
      const message = encoding.toUint8Array(encoder)
      stats.messagesOut++
      stats.bytesOut += message.length
      this.ws.send(message)
    }
    this.doc.on('afterTransaction', (tr) => {
      if (tr.origin === REMOTE) this.countDeliveries(tr)
    })
  }

  /** A new outgoing message, its framing prefix already written. */
  encoder () {
    const encoder = encoding.createEncoder()
    encoding.writeUint8Array(encoder, this.prefix)
    return encoder
  }

  countDeliveries (tr) {
    const recvNow = this.recvNow
    const recvEpoch = performance.timeOrigin + recvNow
    const inWindow = recvEpoch >= windowStart && recvEpoch <= windowEnd
    tr.afterState.forEach((after, client) => {
      const before = tr.beforeState.get(client) || 0
      if (after <= before || client === this.doc.clientID) return
      const author = this.room.byClientId.get(client)
      if (author === undefined) {
        stats.foreignClocks += after - before
        return
      }
      for (let clock = before; clock < after; clock++) {
        stats.latencies.push(recvNow - author.sendTimes[clock])
        stats.deliveries++
        if (inWindow) stats.deliveriesInWindow++
      }
    })
    checkDrained()
  }

  /** Open the socket and resolve once the server answered our sync step 1 with step 2. */
  connect (timeoutMs) {
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => {
        reject(new Error(`${this.room.name}: not synced after ${timeoutMs} ms`))
      }, timeoutMs)
      this.onSynced = () => {
        clearTimeout(timeout)
        resolve()
      }
      // Hocuspocus can drop the document while the socket stays open (a Close message).
      this.onDocumentClosed = (error) => {
        clearTimeout(timeout)
        reject(error)
      }
      const ws = new WebSocket(this.url, { perMessageDeflate: config.deflate })
      this.ws = ws
      ws.on('open', () => {
        if (hocuspocus) this.sendToken()
        const encoder = this.encoder()
        encoding.writeVarUint(encoder, MSG_SYNC)
        syncProtocol.writeSyncStep1(encoder, this.doc)
        ws.send(encoding.toUint8Array(encoder))
      })
      ws.on('message', (data, isBinary) => this.onMessage(data, isBinary))
      ws.on('error', (err) => {
        clearTimeout(timeout)
        reject(new Error(`${this.room.name}: ${err.message}`))
      })
      ws.on('close', (code, reason) => {
        clearTimeout(timeout)
        if (!this.closing) {
          stats.unexpectedCloses.push({ room: this.room.name, code, reason: reason.toString() })
          reject(new Error(`${this.room.name}: closed with ${code} ${reason}`))
        }
      })
    })
  }

  /** Hocuspocus' Auth message: Token submessage and a token (no auth hook checks it). */
  sendToken () {
    const encoder = this.encoder()
    encoding.writeVarUint(encoder, MSG_AUTH)
    encoding.writeVarUint(encoder, HOCUSPOCUS_AUTH_TOKEN)
    encoding.writeVarString(encoder, HOCUSPOCUS_TOKEN)
    this.ws.send(encoding.toUint8Array(encoder))
  }

  onMessage (data, isBinary) {
    this.recvNow = performance.now()
    stats.messagesIn++
    stats.bytesIn += data.length
    if (!isBinary) fail(`${this.room.name}: unexpected text frame`)
    const decoder = decoding.createDecoder(data)
    if (hocuspocus) {
      const address = decoding.readVarString(decoder)
      if (address !== this.room.name) fail(`${this.room.name}: message for ${address}`)
    }
    const type = decoding.readVarUint(decoder)
    if (type === MSG_SYNC) {
      const encoder = this.encoder()
      encoding.writeVarUint(encoder, MSG_SYNC)
      const sub = syncProtocol.readSyncMessage(decoder, encoder, this.doc, REMOTE)
      if (encoding.length(encoder) > this.prefix.length + 1) {
        this.ws.send(encoding.toUint8Array(encoder))
      }
      if (sub === syncProtocol.messageYjsSyncStep2 && !this.synced) {
        this.synced = true
        this.onSynced()
      }
    } else if (type === MSG_AUTH) {
      this.onAuth(decoder)
    } else if (hocuspocus && type === MSG_HOCUSPOCUS_CLOSE && !this.closing) {
      const reason = decoding.readVarString(decoder)
      stats.unexpectedCloses.push({ room: this.room.name, code: 'document closed', reason })
      this.onDocumentClosed(new Error(`${this.room.name}: document closed: ${reason}`))
    }
    // Awareness (1) and query-awareness (3) carry no edits; these clients publish no
    // awareness state, so there is nothing to answer. Nor do Hocuspocus' stateless (5) and
    // sync-status (8) messages: the latter acknowledges each update this client sent.
  }

  onAuth (decoder) {
    const sub = decoding.readVarUint(decoder)
    if (!hocuspocus) {
      fail(`${this.room.name}: permission denied: ${decoding.readVarString(decoder)}`)
    } else if (sub === HOCUSPOCUS_AUTH_DENIED) {
      fail(`${this.room.name}: permission denied: ${decoding.readVarString(decoder)}`)
    } else if (sub === HOCUSPOCUS_AUTH_TOKEN) {
      this.sendToken() // the server asks for a fresh token (onTokenSync)
    } else if (sub !== HOCUSPOCUS_AUTH_OK) {
      fail(`${this.room.name}: unknown auth message ${sub}`)
    }
  }

  /** Schedule edits at t0 + jitter + k * period, absolute, so a late timer does not drift. */
  start (t0, t1) {
    const first = t0 + Math.random() * periodMs
    let k = 0
    const tick = () => {
      const target = first + k * periodMs
      if (target > t1) return
      stats.scheduleLag.push(epochNow() - target)
      this.edit()
      k++
      this.timer = setTimeout(tick, first + k * periodMs - epochNow())
    }
    this.timer = setTimeout(tick, first - epochNow())
  }

  edit () {
    const clock = Y.getState(this.doc.store, this.doc.clientID)
    this.sendTimes[clock] = performance.now()
    this.doc.on('update', this.sendUpdate)
    this.text.insert(this.text.length, String.fromCharCode(97 + (this.sent % 26)))
    this.doc.off('update', this.sendUpdate)
    this.sent++
  }

  close () {
    this.closing = true
    clearTimeout(this.timer)
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) {
        resolve()
        return
      }
      this.ws.once('close', () => resolve())
      this.ws.close(1000)
    })
  }
}

/**
 * Connect with bounded concurrency. The first client of every room joins alone, the rest
 * after it: pycrdt-websocket 0.16 hangs a client that joins a room while another client's
 * join is still creating it (two starts of one YRoom), and a real document is usually opened
 * by one person first anyway.
 */
async function connectAll (rooms) {
  await connectPool(rooms.map((r) => r.clients[0]))
  await connectPool(rooms.flatMap((r) => r.clients.slice(1)))
}

async function connectPool (clients) {
  let next = 0
  const worker = async () => {
    while (next < clients.length) {
      const client = clients[next++]
      await client.connect(config.connectTimeoutMs)
    }
  }
  const workers = []
  for (let i = 0; i < Math.min(config.connectConcurrency, clients.length); i++) {
    workers.push(worker())
  }
  await Promise.all(workers)
}

/**
 * Run the edit and receive paths a few thousand times on local docs wired to each other, so
 * V8 has compiled them before t0: otherwise the first second of the window measures the JIT
 * (tens of ms of timer lag) instead of the server.
 */
function warmUp (edits) {
  const room = new Room('warm-up')
  const clients = [0, 1, 2].map(() => new BenchClient(room, ''))
  for (const client of clients) {
    room.add(client)
    client.ws = {
      send: (message) => {
        for (const peer of clients) {
          if (peer !== client) peer.onMessage(Buffer.from(message), true)
        }
      }
    }
  }
  for (let i = 0; i < edits; i++) clients[i % clients.length].edit()
  for (const client of clients) client.doc.destroy()
  stats = freshStats()
}

function verifyRoom (room) {
  const total = room.clients.reduce((sum, c) => sum + c.sent, 0)
  const problems = []
  const names = [...new Set(room.clients.map((c) => c.textName))]
  const texts = (client) => names.map((name) => client.doc.getText(name).toString())
  const reference = texts(room.clients[0])
  const length = reference.reduce((sum, text) => sum + text.length, 0)
  if (length !== total) {
    problems.push(`text length ${length} != ${total} edits sent`)
  }
  for (const client of room.clients) {
    if (texts(client).some((text, i) => text !== reference[i])) {
      problems.push(`client ${client.doc.clientID} text differs`)
    }
    const sv = Y.decodeStateVector(Y.encodeStateVector(client.doc))
    for (const author of room.clients) {
      const have = sv.get(author.doc.clientID) || 0
      if (have !== author.sent) {
        problems.push(`client ${client.doc.clientID} has ${have}/${author.sent} of ${author.doc.clientID}`)
      }
    }
  }
  return problems
}

function waitForStart () {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin })
    rl.on('line', (line) => {
      const msg = JSON.parse(line)
      if (msg.cmd === 'start') resolve(msg.t0)
    })
    rl.on('close', () => fail('stdin closed before start'))
  })
}

async function main () {
  const rooms = config.rooms.map((spec) => {
    const room = new Room(spec.name)
    spec.urls.forEach((url, i) => {
      room.add(new BenchClient(room, url, spec.textNames?.[i] ?? config.textName))
    })
    return room
  })
  const clients = rooms.flatMap((r) => r.clients)
  warmUp(config.warmUpEdits)
  const connectStart = performance.now()
  await connectAll(rooms)
  const extensions = [...new Set(clients.map((c) => c.ws.extensions || 'none'))]
  emit({
    event: 'ready',
    clients: clients.length,
    connectMs: performance.now() - connectStart,
    extensions
  })

  const t0 = await waitForStart()
  const t1 = t0 + config.duration * 1000
  windowStart = t0
  windowEnd = t1
  stats.gcPauses = [] // report the window's pauses, not the connect phase's
  for (const client of clients) client.start(t0, t1)

  // Wait for the send window to close, then for the deliveries still in flight.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, t1 - epochNow() + periodMs)))
  for (const client of clients) clearTimeout(client.timer)
  expectedTotal = rooms.reduce(
    (sum, r) => sum + r.clients.reduce((s, c) => s + c.sent * (r.clients.length - 1), 0), 0)
  const drainStart = performance.now()
  let drainTimer = null
  const drained = await Promise.race([
    new Promise((resolve) => {
      onDrained = () => resolve(true)
      checkDrained()
    }),
    new Promise((resolve) => {
      drainTimer = setTimeout(() => resolve(false), config.drainTimeoutMs)
    })
  ])
  clearTimeout(drainTimer)
  const drainMs = performance.now() - drainStart

  const failedRooms = []
  for (const room of rooms) {
    const problems = verifyRoom(room)
    if (problems.length > 0) failedRooms.push({ room: room.name, problems: problems.slice(0, 5) })
  }
  await Promise.all(clients.map((c) => c.close()))

  const sent = clients.reduce((sum, c) => sum + c.sent, 0)
  writeFileSync(config.resultPath, JSON.stringify({
    rooms: rooms.length,
    clients: clients.length,
    sent,
    expected: expectedTotal,
    received: stats.deliveries,
    receivedInWindow: stats.deliveriesInWindow,
    foreignClocks: stats.foreignClocks,
    drained,
    drainMs,
    verifiedRooms: rooms.length - failedRooms.length,
    failedRooms: failedRooms.slice(0, 10),
    failedRoomCount: failedRooms.length,
    unexpectedCloses: stats.unexpectedCloses.slice(0, 10),
    unexpectedCloseCount: stats.unexpectedCloses.length,
    messagesIn: stats.messagesIn,
    bytesIn: stats.bytesIn,
    messagesOut: stats.messagesOut,
    bytesOut: stats.bytesOut,
    extensions,
    gcPauseMs: stats.gcPauses,
    latenciesMs: stats.latencies,
    scheduleLagMs: stats.scheduleLag
  }))
  emit({ event: 'done' })
  process.exit(0)
}

main().catch((err) => fail(err.stack || String(err)))
