"""The merchant surface: REST API, web admin, auth, health checks and the Flask CLI commands."""
