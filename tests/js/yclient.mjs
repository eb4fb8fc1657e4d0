#!/usr/bin/env node
// A real Yjs client (y-websocket's WebsocketProvider) that pytest drives over
// stdin/stdout, so the server is tested against the exact code browsers run
// rather than against our own re-implementation of the protocol.
//
// Protocol: one JSON object per line in both directions. Every command has an
// "id" and gets exactly one reply {"id", "ok": true, ...} or
// {"id", "ok": false, "error"}. Unsolicited lines carry "event" instead.
// Nothing else may reach stdout, so console.log is redirected to stderr.
//
// Usage:
//   node yclient.mjs --url ws://127.0.0.1:PORT/ws --room DOCID
//        [--ticket T] [--client-id N] [--no-reconnect] [--wait-ticket]
//
// --no-reconnect  after the first close the provider stays disconnected.
// --wait-ticket   after each close, hold reconnecting until set_ticket gives a
//                 fresh ticket (the server's tickets are single-use, and the
//                 provider's own retry fires ~100 ms after a close, which is
//                 usually too soon for the test to supply one).

import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

console.log = console.error
console.info = console.error
console.debug = console.error

const DEFAULT_TIMEOUT_MS = 10000

const send = (obj) => {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

const errorText = (err) => (err instanceof Error ? err.message : String(err))

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    room: { type: 'string' },
    ticket: { type: 'string' },
    'client-id': { type: 'string' },
    'no-reconnect': { type: 'boolean', default: false },
    'wait-ticket': { type: 'boolean', default: false }
  },
  strict: true
})

if (!args.url || !args.room) {
  console.error('usage: yclient.mjs --url ws://HOST:PORT/ws --room DOCID [--ticket T] ' +
    '[--client-id N] [--no-reconnect] [--wait-ticket]')
  process.exit(2)
}

const serverUrl = args.url.replace(/\/+$/, '')
let params = args.ticket !== undefined ? { ticket: args.ticket } : {}

// y-websocket 1.5 bakes params into provider.url once, in the constructor, and
// reconnects reuse provider.url; so a new ticket means rewriting that string.
const buildUrl = () => {
  const query = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&')
  return `${serverUrl}/${args.room}${query ? '?' + query : ''}`
}

const doc = new Y.Doc()
if (args['client-id'] !== undefined) {
  const clientId = Number(args['client-id'])
  if (!Number.isSafeInteger(clientId) || clientId < 0) {
    console.error(`invalid --client-id ${args['client-id']}`)
    process.exit(2)
  }
  // Must happen before the provider exists: its Awareness copies doc.clientID.
  doc.clientID = clientId
}

const provider = new WebsocketProvider(serverUrl, args.room, doc, {
  params,
  WebSocketPolyfill: WebSocket,
  connect: false,
  disableBc: true
})
provider.params = params

let closes = 0
// True while the current ticket has not yet been spent on a connection attempt.
let ticketFresh = args.ticket !== undefined
// True when --wait-ticket stopped the provider and set_ticket should resume it.
let parked = false

provider.on('status', ({ status }) => {
  send({ event: 'status', status })
  // 'connecting' is emitted right after the socket was opened with provider.url.
  if (status === 'connecting') ticketFresh = false
})
provider.on('synced', (state) => {
  send({ event: 'synced', synced: state })
})
provider.on('connection-error', (event) => {
  send({ event: 'connection-error', error: event?.message ?? errorText(event?.error ?? event) })
})
provider.on('connection-close', (event) => {
  closes += 1
  // Runs synchronously before the provider schedules its retry, which checks
  // shouldConnect, so clearing it here reliably suppresses the reconnect.
  if (args['no-reconnect']) {
    provider.shouldConnect = false
  } else if (args['wait-ticket'] && !ticketFresh && provider.shouldConnect) {
    provider.shouldConnect = false
    parked = true
  }
  send({
    event: 'connection-close',
    code: event?.code ?? null,
    reason: event?.reason ? String(event.reason) : '',
    was_clean: event?.wasClean ?? null
  })
})

provider.connect()

// Resolves when check() returns true; re-evaluated whenever subscribe's
// callback fires, so waits react to changes instead of polling.
const waitFor = (check, subscribe, timeoutMs, describe) =>
  new Promise((resolve, reject) => {
    if (check()) {
      resolve()
      return
    }
    let unsubscribe = () => {}
    const timer = setTimeout(() => {
      unsubscribe()
      reject(new Error(`timeout after ${timeoutMs} ms: ${describe()}`))
    }, timeoutMs)
    unsubscribe = subscribe(() => {
      if (check()) {
        clearTimeout(timer)
        unsubscribe()
        resolve()
      }
    })
  })

const onDocUpdate = (fn) => {
  doc.on('afterTransaction', fn)
  return () => doc.off('afterTransaction', fn)
}

const onProvider = (name) => (fn) => {
  provider.on(name, fn)
  return () => provider.off(name, fn)
}

const onAwareness = (fn) => {
  provider.awareness.on('change', fn)
  return () => provider.awareness.off('change', fn)
}

const awarenessObject = () => {
  const out = {}
  for (const [clientId, state] of provider.awareness.getStates()) out[clientId] = state
  return out
}

// Key-order-insensitive comparison so Python dicts and JS objects match.
const canonical = (value) => {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]))
  }
  return value
}
const sameJson = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))

const requireString = (cmd, key) => {
  if (typeof cmd[key] !== 'string') throw new Error(`"${key}" must be a string`)
  return cmd[key]
}
const requireInt = (cmd, key) => {
  if (!Number.isInteger(cmd[key]) || cmd[key] < 0) {
    throw new Error(`"${key}" must be a non-negative integer`)
  }
  return cmd[key]
}
const timeoutOf = (cmd) => (cmd.timeout_ms === undefined ? DEFAULT_TIMEOUT_MS : requireInt(cmd, 'timeout_ms'))

const b64 = (u8) => Buffer.from(u8).toString('base64')

const status = () => ({
  connected: provider.wsconnected,
  connecting: provider.wsconnecting,
  synced: provider.synced,
  should_connect: provider.shouldConnect,
  waiting_for_ticket: parked,
  closes,
  url: provider.url,
  client_id: doc.clientID
})

let shuttingDown = false
const shutdown = (code) => {
  if (shuttingDown) return
  shuttingDown = true
  provider.destroy()
  doc.destroy()
  // Let the reply flush and the close frame go out before exiting.
  process.stdout.write('', () => setTimeout(() => process.exit(code), 50))
}

const handlers = {
  insert: (cmd) => {
    const text = doc.getText(requireString(cmd, 'text'))
    const index = requireInt(cmd, 'index')
    if (index > text.length) throw new Error(`index ${index} > length ${text.length}`)
    text.insert(index, requireString(cmd, 'value'))
    return {}
  },
  delete: (cmd) => {
    const text = doc.getText(requireString(cmd, 'text'))
    const index = requireInt(cmd, 'index')
    const length = requireInt(cmd, 'length')
    if (index + length > text.length) {
      throw new Error(`range ${index}+${length} exceeds length ${text.length}`)
    }
    text.delete(index, length)
    return {}
  },
  get_text: (cmd) => ({ value: doc.getText(requireString(cmd, 'text')).toString() }),
  wait_text: async (cmd) => {
    const text = doc.getText(requireString(cmd, 'text'))
    const want = requireString(cmd, 'value')
    await waitFor(() => text.toString() === want, onDocUpdate, timeoutOf(cmd),
      () => `text is ${JSON.stringify(text.toString())}`)
    return { value: want }
  },
  wait_synced: async (cmd) => {
    await waitFor(() => provider.synced, onProvider('synced'), timeoutOf(cmd),
      () => `not synced (connected=${provider.wsconnected})`)
    return {}
  },
  state_vector: () => ({ value: b64(Y.encodeStateVector(doc)) }),
  encode_state: () => ({ value: b64(Y.encodeStateAsUpdate(doc)) }),
  apply_update: (cmd) => {
    Y.applyUpdate(doc, Buffer.from(requireString(cmd, 'update'), 'base64'), 'yclient-cli')
    return {}
  },
  set_awareness: (cmd) => {
    if (cmd.state === undefined) throw new Error('"state" is required (null clears it)')
    provider.awareness.setLocalState(cmd.state)
    return {}
  },
  get_awareness: () => ({ value: awarenessObject() }),
  wait_awareness: async (cmd) => {
    const clientId = requireInt(cmd, 'client_id')
    if (cmd.state === undefined) throw new Error('"state" is required (null waits for absence)')
    const current = () => provider.awareness.getStates().get(clientId) ?? null
    await waitFor(() => sameJson(current(), cmd.state), onAwareness, timeoutOf(cmd),
      () => `awareness of ${clientId} is ${JSON.stringify(current())}`)
    return { value: current() }
  },
  set_ticket: (cmd) => {
    params = { ...params, ticket: requireString(cmd, 'ticket') }
    provider.params = params
    provider.url = buildUrl()
    ticketFresh = true
    // With --wait-ticket a close parked the provider; this is its cue to retry.
    if (parked) {
      parked = false
      provider.connect()
    }
    return { url: provider.url }
  },
  connect: () => {
    parked = false
    provider.connect()
    return {}
  },
  disconnect: () => {
    parked = false
    provider.disconnect()
    return {}
  },
  status: () => status(),
  close: () => {
    shutdown(0)
    return {}
  }
}

const handle = async (line) => {
  if (line.trim() === '') return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    send({ event: 'error', error: `invalid JSON on stdin: ${errorText(err)}` })
    return
  }
  const id = cmd?.id
  if (id === undefined) {
    send({ event: 'error', error: `command without "id": ${line}` })
    return
  }
  const handler = Object.hasOwn(handlers, cmd.cmd) ? handlers[cmd.cmd] : undefined
  if (!handler) {
    send({ id, ok: false, error: `unknown cmd ${JSON.stringify(cmd.cmd)}` })
    return
  }
  if (shuttingDown) {
    send({ id, ok: false, error: 'client is closing' })
    return
  }
  // Synchronous commands reply immediately so replies and events stay in the
  // order things actually happened.
  try {
    let result = handler(cmd)
    if (result instanceof Promise) result = await result
    send({ id, ok: true, ...result })
  } catch (err) {
    send({ id, ok: false, error: errorText(err) })
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', (line) => {
  handle(line)
})
// The controlling test is gone; don't linger as an orphan.
rl.on('close', () => shutdown(0))

process.on('uncaughtException', (err) => {
  console.error(err)
  send({ event: 'error', error: errorText(err) })
})
process.on('unhandledRejection', (err) => {
  console.error(err)
  send({ event: 'error', error: errorText(err) })
})
