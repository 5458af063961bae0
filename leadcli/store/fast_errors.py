"""The error every database's fast statement runner raises for one refused write."""

from __future__ import annotations


class WriteRefused(Exception):
    """The database refused one write (a constraint, a trigger); the savepoint around it is rolled back."""
