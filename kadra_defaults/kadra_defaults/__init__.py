"""Kadra service defaults: what every service shares and nothing domain-specific."""
