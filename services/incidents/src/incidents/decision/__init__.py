"""Decisions: facts from incidents and coaching, the policy's verdict, overrides, and the
background worker that retries what needed another service."""
