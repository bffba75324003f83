"""HTTP plumbing only: the router, handlers as ASGI endpoints, the exception layer, reading
bodies and writing JSON, the signed-in user, and the OpenAPI document builder."""
