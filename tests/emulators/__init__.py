"""Local emulators of Slack and Jira that the official clients talk to over HTTP."""
