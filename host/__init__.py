"""livehost: an AI host for live-selling streams."""

__version__ = "0.1.0"
