"""kadra-mobile: what a phone does to become, and log in as, a person's trusted device in Kadra."""
