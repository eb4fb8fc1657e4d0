// Hocuspocus (npm @hocuspocus/server) for the load benchmark, with its default settings.
//
// Default settings on purpose: the targets compare Widen with Hocuspocus as people run
// it, including `flushDelay: 0` (it merges the updates that arrive within one event-loop turn
// into one broadcast). No extensions, so no persistence and no auth hook: documents live in
// memory only, as in y-websocket's reference server, and any token is accepted.
//
// Listens on HOST/PORT from the environment, like y-websocket's bin/server.js. On SIGTERM
// Hocuspocus itself closes its connections, unloads the documents and exits (stopOnSignals).

import { Server } from '@hocuspocus/server'

const server = new Server({
  address: process.env.HOST || 'localhost',
  port: Number(process.env.PORT || 1234)
})

await server.listen()
