"""The escalation policy: versioned, ordered rules; drafts, publishing and the dry run."""
