"""Domain services: tenants, users, tickets, milestones, notifications.

Service functions are keyword-only with the session first; they never commit (the caller
owns the transaction) and never talk to a chat platform.
"""
