"""Documents in and out of other formats: Markdown, HTML and Word (DESIGN §9).

Every format goes through one neutral structure (`blocks`): a section's XmlFragment is read
into blocks (`from_ydoc`) and blocks are written back as y-prosemirror would (`to_ydoc`), so
each format needs only a writer and, for import, a reader of blocks.
"""
