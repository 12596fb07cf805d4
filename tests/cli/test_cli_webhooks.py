"""`threshold webhooks`: add shows the secret once, list, remove, deliveries."""

from __future__ import annotations

import json

HOOK = {
    "id": "wh_1",
    "url": "https://siem.example.com/hook",
    "events": ["finding", "containment"],
    "format": "cloudevents",
    "created_by": "admin@example.com",
    "created_at": "2026-12-01T00:00:00Z",
}


def test_webhooks_add_sends_events_and_format_and_shows_the_secret_once(api, cli):
    """`webhooks add URL --events a,b --format cloudevents` posts them and prints the secret."""
    api.reply("POST", "/webhooks", 201, {**HOOK, "secret": "whsec_c2VjcmV0"})
    result = cli(
        "webhooks", "add", HOOK["url"], "--events", "finding,containment", "--format", "cloudevents"
    )
    assert result.exit_code == 0, result.stdout
    assert "whsec_c2VjcmV0" in result.stdout and "only time" in result.stdout
    sent = json.loads(api.requests[0].content)
    assert sent == {
        "url": HOOK["url"],
        "events": ["finding", "containment"],
        "format": "cloudevents",
    }


def test_webhooks_list_remove_and_deliveries(api, cli):
    """`webhooks list` shows subscriptions, `remove` deletes one, `deliveries` lists attempts."""
    api.reply("GET", "/webhooks", 200, [HOOK])
    api.reply("DELETE", "/webhooks/wh_1", 204)
    delivery = {
        "id": "msg_1",
        "event_type": "finding",
        "status": "delivered",
        "attempts": 3,
        "last_status_code": 200,
        "created_at": "2026-12-01T00:00:00Z",
    }
    api.reply("GET", "/webhooks/wh_1/deliveries", 200, [delivery])
    listed = cli("webhooks", "list", "--json")
    assert json.loads(listed.stdout)[0]["id"] == "wh_1"
    assert "removed" in cli("webhooks", "remove", "wh_1").stdout
    shown = cli("webhooks", "deliveries", "wh_1")
    assert shown.exit_code == 0 and "delivered" in shown.stdout
