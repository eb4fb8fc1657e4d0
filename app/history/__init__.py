"""Version history (DESIGN §9): checkpoints and named versions kept by the server, opened,
compared with the current text and restored.

`storage` records and reads versions, `checkpointer` decides when one is due, `reading` holds
what runs in the worker pool (turning a version into text, counting words, diffing),
`restore` writes a version back into the live document.
"""
