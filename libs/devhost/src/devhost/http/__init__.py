"""The per-app HTTP server: function routes, auth levels and keys, the admin API."""
