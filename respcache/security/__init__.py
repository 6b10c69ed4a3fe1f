"""Access control: the ACL rule model (sans I/O)."""
