"""Paceline command line."""
