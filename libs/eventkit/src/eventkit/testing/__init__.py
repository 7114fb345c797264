"""Test support shipped with eventkit: emulator fixtures and the contract test cases every adapter runs."""
