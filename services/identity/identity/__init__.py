"""The identity service: accounts, passwords, sessions and one-time tokens."""
