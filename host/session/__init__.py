"""A live session: the stages wired together, the director that feeds the program, the audit."""
