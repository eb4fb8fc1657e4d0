"""The Yjs side of Widen: protocol codec, live rooms, the update store.

Nothing here knows about HTTP, users or roles: the web app hands each connection an opaque
origin (who sent an update) and this package relays, guards and stores what that origin sends.
"""
