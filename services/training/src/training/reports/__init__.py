"""Reports for HR and policy owners."""
