// Reconnect-storm clients (bench/storm.py): many y-websocket clients that all connect at one
// instant, as after a server restart, and retry the way the browser app does.
//
// Each client opens a fresh Y.Doc (so the server's sync step 2 carries the document's whole
// text), sends sync step 1 and counts as synced once it has received a step 2 and its text
// equals the text the document was seeded with. A close before that is sorted by its code:
// 1013 try-later (the server shed the admission) and a network failure (1006: refused,
// reset, no handshake) are retried with exponential backoff (start, doubling, cap, jitter);
// 1011 is counted as a refusal and retried too (the browser app retries it); any other code
// is a refusal the client gives up on. Clients stay connected until the parent says close.
//
// Protocol with the parent: argv[2] is a JSON config file. Mode "seed": connect to each
// document in turn (bounded concurrency), insert its text, and wait until the server has it
// (a second step 1 is answered with a step 2 only after our update, sent first on the same
// socket, was applied); then print {"event":"done"}. Mode "storm": print {"event":"ready"},
// wait for a stdin line {"cmd":"start","t0":<epoch ms>}, connect every client at t0, print
// {"event":"synced"} once all are synced or the deadline passed, then on {"cmd":"close"}
// close all, write the result JSON to config.resultPath and print {"event":"done"}.

import { readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const MSG_SYNC = 0
const MSG_AUTH = 2
const TRY_AGAIN_LATER = 1013
const INTERNAL_ERROR = 1011
const ABNORMAL = 1006 // no close frame: connection refused or reset, handshake failed
const SAMPLE_LIMIT = 10

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const epochNow = () => performance.timeOrigin + performance.now()
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const fail = (message) => {
  emit({ event: 'error', message })
  process.exit(1)
}

const stats = {
  attempts: 0,
  shed: 0, // closes with 1013
  networkErrors: 0, // closes with 1006 (includes failed handshakes)
  retries: 0,
  refusals: {}, // close code -> count, for 1011 and every code given up on
  closedAfterSync: {}, // close code -> count
  errorSamples: []
}

const count = (map, key) => { map[key] = (map[key] ?? 0) + 1 }
const sample = (entry) => {
  if (stats.errorSamples.length < SAMPLE_LIMIT) stats.errorSamples.push(entry)
}

function syncStep1 (doc) {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MSG_SYNC)
  syncProtocol.writeSyncStep1(encoder, doc)
  return encoding.toUint8Array(encoder)
}

/** Apply one server message to `doc`, answering what needs an answer; returns its sync type. */
function receive (ws, doc, data) {
  const decoder = decoding.createDecoder(data)
  const type = decoding.readVarUint(decoder)
  if (type === MSG_AUTH) return 'denied'
  if (type !== MSG_SYNC) return null // awareness and query-awareness carry no text
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MSG_SYNC)
  const sub = syncProtocol.readSyncMessage(decoder, encoder, doc, 'remote')
  if (encoding.length(encoder) > 1) ws.send(encoding.toUint8Array(encoder))
  return sub
}

class StormClient {
  constructor (spec, t0, deadline) {
    this.spec = spec
    this.t0 = t0
    this.deadline = deadline
    this.failures = 0 // consecutive retryable failures, for the backoff
    this.syncedAt = null
    this.gaveUp = false
    this.ws = null
    this.closing = false
  }

  connect () {
    if (epochNow() > this.deadline) return
    stats.attempts++
    const doc = new Y.Doc()
    const text = doc.getText(config.textName)
    let step2 = false
    const ws = new WebSocket(this.spec.url, {
      headers: config.headers,
      perMessageDeflate: config.deflate
    })
    this.ws = ws
    ws.on('open', () => ws.send(syncStep1(doc)))
    ws.on('message', (data) => {
      if (this.syncedAt !== null) return
      const sub = receive(ws, doc, data)
      if (sub === 'denied') {
        count(stats.refusals, 'permission-denied')
        this.gaveUp = true
        ws.terminate()
        return
      }
      if (sub === syncProtocol.messageYjsSyncStep2) step2 = true
      if (step2 && text.toString() === this.spec.text) {
        this.syncedAt = epochNow()
        doc.destroy() // nothing more is read; keep the generator's memory small
        onSynced()
      }
    })
    ws.on('error', (err) => sample({ room: this.spec.room, error: err.message }))
    ws.on('close', (code, reason) => {
      if (this.closing) return
      if (this.syncedAt !== null) {
        count(stats.closedAfterSync, code)
        return
      }
      doc.destroy()
      if (this.gaveUp) return
      if (code === TRY_AGAIN_LATER) {
        stats.shed++
      } else if (code === ABNORMAL) {
        stats.networkErrors++
      } else {
        count(stats.refusals, code)
        sample({ room: this.spec.room, code, reason: reason.toString() })
        if (code !== INTERNAL_ERROR) {
          this.gaveUp = true
          return
        }
      }
      this.retry()
    })
  }

  retry () {
    stats.retries++
    const ceiling = Math.min(config.backoffCapMs, config.backoffStartMs * 2 ** this.failures)
    this.failures++
    // Equal jitter: at least half the backoff, so clients spread out but none come back early.
    const delay = ceiling / 2 + Math.random() * ceiling / 2
    setTimeout(() => this.connect(), delay)
  }

  close () {
    this.closing = true
    return new Promise((resolve) => {
      const ws = this.ws
      if (ws === null || ws.readyState === WebSocket.CLOSED) {
        resolve()
        return
      }
      ws.once('close', () => resolve())
      if (ws.readyState === WebSocket.OPEN) ws.close(1000)
      else ws.terminate()
    })
  }
}

let syncedCount = 0
let onAllSynced = null
function onSynced () {
  syncedCount++
  if (onAllSynced !== null && syncedCount === config.clients.length) onAllSynced()
}

function readCommands () {
  const waiting = new Map()
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    const msg = JSON.parse(line)
    const resolve = waiting.get(msg.cmd)
    if (resolve !== undefined) {
      waiting.delete(msg.cmd)
      resolve(msg)
    }
  })
  rl.on('close', () => { if (waiting.size > 0) fail('stdin closed while waiting for a command') })
  return (cmd) => new Promise((resolve) => waiting.set(cmd, resolve))
}

/** Write one document's text and resolve once the server has applied it. */
function seedOne (spec) {
  return new Promise((resolve, reject) => {
    const doc = new Y.Doc()
    const ws = new WebSocket(spec.url, { headers: config.headers, perMessageDeflate: config.deflate })
    let step2s = 0
    ws.on('open', () => ws.send(syncStep1(doc)))
    ws.on('message', (data) => {
      if (receive(ws, doc, data) !== syncProtocol.messageYjsSyncStep2) return
      step2s++
      if (step2s === 1) {
        doc.on('update', (update) => {
          const encoder = encoding.createEncoder()
          encoding.writeVarUint(encoder, MSG_SYNC)
          syncProtocol.writeUpdate(encoder, update)
          ws.send(encoding.toUint8Array(encoder))
        })
        doc.getText(config.textName).insert(0, spec.text)
        ws.send(syncStep1(doc))
      } else {
        ws.close(1000)
      }
    })
    ws.on('close', (code) => {
      doc.destroy()
      if (step2s >= 2) resolve()
      else reject(new Error(`seeding ${spec.room}: closed with ${code} before it was applied`))
    })
    ws.on('error', (err) => reject(new Error(`seeding ${spec.room}: ${err.message}`)))
  })
}

async function seed () {
  let next = 0
  const worker = async () => {
    while (next < config.clients.length) await seedOne(config.clients[next++])
  }
  await Promise.all(Array.from({ length: config.seedConcurrency }, worker))
  emit({ event: 'done' })
  process.exit(0)
}

async function storm () {
  const command = readCommands()
  emit({ event: 'ready', clients: config.clients.length })
  const { t0 } = await command('start')
  const deadline = t0 + config.deadlineMs
  const clients = config.clients.map((spec) => new StormClient(spec, t0, deadline))
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 - epochNow())))
  for (const client of clients) client.connect()
  await new Promise((resolve) => {
    onAllSynced = resolve
    setTimeout(resolve, Math.max(0, deadline - epochNow()))
    if (syncedCount === clients.length) resolve()
  })
  const synced = clients.filter((c) => c.syncedAt !== null)
  emit({
    event: 'synced',
    synced: synced.length,
    lastSyncEpochMs: Math.max(t0, ...synced.map((c) => c.syncedAt))
  })
  await command('close')
  await Promise.all(clients.map((c) => c.close()))
  writeFileSync(config.resultPath, JSON.stringify({
    ...stats,
    clients: clients.length,
    synced: synced.length,
    gaveUp: clients.filter((c) => c.gaveUp).length,
    syncMs: synced.map((c) => c.syncedAt - t0)
  }))
  emit({ event: 'done' })
  process.exit(0)
}

(config.mode === 'seed' ? seed() : storm()).catch((err) => fail(err.stack || String(err)))
