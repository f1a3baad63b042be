"""Tests of `engine/`, one file per module or stage."""
