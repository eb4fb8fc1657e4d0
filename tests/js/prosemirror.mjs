#!/usr/bin/env node
// Sections as y-prosemirror (the browser editor's binding) reads and writes them.
//
// stdin: one JSON object, either
//   {"read": hex update, "roots": [name]}    -> {root: ProseMirror JSON of the section, checked
//                                               against the editor's schema, or "error: ..."}
//   {"write": {root: ProseMirror doc JSON}}  -> {"update": hex of a Y.Doc y-prosemirror wrote}
//
// The packages are the browser app's own (frontend/node_modules), loaded as one set so that
// y-prosemirror and this script share a single Yjs.

import { createRequire } from 'node:module'

const require = createRequire(new URL('../../frontend/package.json', import.meta.url))
const Y = require('yjs')
const { prosemirrorJSONToYXmlFragment, yXmlFragmentToProsemirrorJSON } = require('y-prosemirror')
const { Schema } = require('prosemirror-model')
const { schema: basic } = require('prosemirror-schema-basic')
const { addListNodes } = require('prosemirror-schema-list')

// frontend/src/editor/schema.ts, less its link drawing (which does not change the model).
const schema = new Schema({
  nodes: addListNodes(basic.spec.nodes.remove('image'), 'paragraph block*', 'block'),
  marks: basic.spec.marks,
})

const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'))
const out = {}
if (input.read !== undefined) {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Buffer.from(input.read, 'hex'))
  for (const root of input.roots) {
    try {
      const json = yXmlFragmentToProsemirrorJSON(doc.getXmlFragment(root))
      schema.nodeFromJSON(json).check()
      out[root] = json
    } catch (e) {
      out[root] = `error: ${e.message}`
    }
  }
} else {
  const doc = new Y.Doc()
  for (const [root, json] of Object.entries(input.write)) {
    prosemirrorJSONToYXmlFragment(schema, json, doc.getXmlFragment(root))
  }
  out.update = Buffer.from(Y.encodeStateAsUpdate(doc)).toString('hex')
}
process.stdout.write(JSON.stringify(out))
