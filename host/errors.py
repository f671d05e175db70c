"""Errors a user can act on. The CLI prints their message as one line, never a traceback."""


class HostError(Exception):
    """Base of every error whose message is meant for the operator, merchant or marketer."""
