"""Pipedrive: persons in (API v2, `updated_since`), activities and notes out, webhooks with basic auth."""
