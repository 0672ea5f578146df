"""Execution-accuracy evaluation: compare generated answers with gold SQL on the same database."""
