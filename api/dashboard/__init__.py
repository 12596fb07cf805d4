"""The web dashboard: estate, system pages, approvals inbox and evidence packs (Jinja2 HTML)."""
