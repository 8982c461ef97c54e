"""Assignment rules: who a module is assigned to, kept true as the directory changes."""
