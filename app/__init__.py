"""The composition root: app factory, ASGI entry, CLI, dev server and worker wiring."""
