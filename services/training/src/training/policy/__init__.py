"""The social media policy: versions, clauses, acknowledgements."""
