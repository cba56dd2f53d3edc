"""The devices service: the one trusted device per account, its keys, PIN and login challenges."""
