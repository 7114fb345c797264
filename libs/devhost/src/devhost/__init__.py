"""devhost: the local Functions host for Nightshift function apps."""
