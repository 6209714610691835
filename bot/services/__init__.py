"""Use cases: plain async code with collaborators passed in; nothing here imports telegram."""
