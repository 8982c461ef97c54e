"""Community threads and replies."""
