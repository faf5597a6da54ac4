"""Channel adapters: each translates a platform's payloads to core events and back."""
