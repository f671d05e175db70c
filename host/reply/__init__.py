"""Replies: responders that write the host's lines, and the guard that checks each one."""
