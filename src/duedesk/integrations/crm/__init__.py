"""What the CRM integrations share: connections, field mappings, the pull cursor, the outbox of writes,
the ownership rules, and the sync loop the worker runs. Each CRM's own client lives beside this folder
(hubspot/, pipedrive/, salesforce/)."""
