"""Kadra's gateway: the only HTTP surface of the system."""
