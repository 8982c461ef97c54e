"""SCIM 2.0 (RFC 7643/7644) for the HRIS / identity provider: people and groups pushed in."""
