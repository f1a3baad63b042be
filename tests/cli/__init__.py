"""Tests of `cardsight/` (the commands) and of `configuration/`, the settings they read."""
