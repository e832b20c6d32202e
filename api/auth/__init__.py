"""API keys with scopes: creation, verification, and the one route → scope table."""
