"""Tests of `bot/`."""
