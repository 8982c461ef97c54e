"""The ambassador program: applications, eligibility, current ambassadors."""
