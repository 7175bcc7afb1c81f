"""Themes shipped with the engine (package data; each folder is one theme)."""
