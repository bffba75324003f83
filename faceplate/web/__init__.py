"""HTTP plumbing only: the router, handlers as ASGI endpoints, the exception layer, reading
bodies and writing JSON, and the signed-in user."""
