"""Paceline: a high-availability cluster manager."""

__version__ = "0.1.0"
__all__ = ["__version__"]
