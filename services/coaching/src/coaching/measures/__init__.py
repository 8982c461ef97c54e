"""What incidents tells coaching about an incident: a suspension, its withdrawal."""
