"""Faceplate's benchmark: the service against bare floors, side by side in one run."""
