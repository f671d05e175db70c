"""Viewer comments: the event format, the sources that produce it, and triage."""
