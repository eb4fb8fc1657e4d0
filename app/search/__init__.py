"""Full-text search over what each user may read (DESIGN §8).

`indexer` keeps the index fresh in the background, `texts` turns a document into indexable
text in a worker process, `words` turns a search box's text into words (never query syntax),
and `finder` asks the database's own full-text engine: FTS5 on SQLite, `tsvector` on PostgreSQL.
"""
