"""Real-component test helpers: a server process, an API client, Yjs protocol clients."""
