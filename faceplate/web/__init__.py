"""HTTP plumbing shared by the routes: bodies, errors, pages, the signed-in user."""
