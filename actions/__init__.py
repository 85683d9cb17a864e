"""Custom actions: thin glue between rasa-sdk and the logic in ``bot``."""
