"""Tests of the exchanges."""
