"""The REST API's types: request and response bodies, and keyset pages with their cursors.

Routes decode into them, services take and return them, the OpenAPI document describes them;
they import only `structs` and `errors`.
"""
