"""The notify service: e-mail: templates, SMTP, retries and the message log."""
