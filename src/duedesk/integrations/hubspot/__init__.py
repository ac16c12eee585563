"""HubSpot: contacts pulled by list and CRM search, touches written as communications, calls, notes and
tasks, webhooks signed with the v3 signature. Uses the official `hubspot-api-client`."""
