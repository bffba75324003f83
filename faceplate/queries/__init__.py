"""One typed function per SQL file; callers pass the connection."""
