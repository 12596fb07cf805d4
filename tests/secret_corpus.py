"""A corpus of real-format (fake, generated) secrets and of look-alikes that must pass.

Every secret is generated from a seeded RNG in its vendor's format, so none is a live key;
`Sample.secret` is the part that is secret (a refusal may show at most 4 characters of it).
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

_RNG = random.Random(20261202)
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
UPPER32 = string.ascii_uppercase + "234567"


def _pick(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Sample:
    """One corpus entry: its family, the whole value given, and the part that is secret."""

    family: str
    value: str
    secret: str


def _s(family: str, value: str, secret: str | None = None) -> Sample:
    return Sample(family, value, secret if secret is not None else value)


def _prefixed(family: str, prefix: str, body: str) -> Sample:
    """A token whose public format prefix (`github_pat_`) is not the secret part."""
    return Sample(family, prefix + body, body)


def _aws_secret() -> str:
    key = _pick(B64, 40)
    return key[:9] + "/" + key[10:22] + "/" + key[23:] + "Ab1"


def _jwt() -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    claims = json.dumps({"sub": _pick(ALNUM, 10), "iat": 1767225600}).encode()
    body = base64.urlsafe_b64encode(claims).decode().rstrip("=")
    return f"{header}.{body}.{_pick(URLSAFE, 43)}"


def _basic() -> str:
    return base64.b64encode(f"svc-{_pick(ALNUM, 5)}:{_pick(ALNUM, 14)}".encode()).decode()


def _secrets() -> list[Sample]:
    aws_id = "AKIA" + _pick(UPPER32, 16)
    aws_secret = _aws_secret()
    hex64 = _pick(HEX, 64)
    token32 = _pick(ALNUM, 32)
    kv_secret = _pick(ALNUM, 28) + "9aZ"
    webhook = f"T{_pick(UPPER32, 8)}/B{_pick(UPPER32, 10)}/{_pick(ALNUM, 24)}"
    basic = _basic()
    password = "Pw" + _pick(ALNUM, 10) + "!7"
    url_password = _pick(ALNUM, 12) + "Q1"
    azure_key = _pick(B64, 86) + "=="
    sas_sig = _pick(ALNUM, 40) + "%3D"
    pem_body = _pick(B64, 64)
    gcp_key_id = _pick(HEX, 40)
    return [
        _s("aws-access-key-id", aws_id),
        _s("aws-access-key-id-glued", "key" + aws_id, aws_id),
        _s("aws-secret-access-key", aws_secret),
        _s("aws-secret-in-path", f"aws/prod/{aws_secret}", aws_secret),
        _s("aws-secret-assigned", f"aws_secret_access_key={aws_secret}", aws_secret),
        _s("gcp-api-key", "AIza" + _pick(URLSAFE, 35)),
        _s(
            "gcp-service-account-json",
            json.dumps({"type": "service_account", "private_key_id": gcp_key_id}),
            gcp_key_id,
        ),
        _s(
            "azure-storage-key", f"DefaultEndpointsProtocol=https;AccountKey={azure_key}", azure_key
        ),
        _s("azure-client-secret", _pick(ALNUM, 3) + "8Q~" + _pick(ALNUM + "_~.-", 34)),
        _s("azure-sas", f"sv=2022-11-02&ss=b&srt=sco&sp=rl&sig={sas_sig}", sas_sig),
        _s("github-pat", "ghp_" + _pick(ALNUM, 36)),
        _s("github-oauth", "gho_" + _pick(ALNUM, 36)),
        _prefixed("github-fine-grained", "github_pat_", _pick(ALNUM, 22) + "_" + _pick(ALNUM, 59)),
        _s("gitlab-pat", "glpat-" + _pick(URLSAFE, 20)),
        _s(
            "slack-bot-token",
            f"xoxb-{_pick('0123456789', 12)}-{_pick('0123456789', 13)}-" + _pick(ALNUM, 24),
        ),
        _s(
            "slack-user-token",
            f"xoxp-{_pick('0123456789', 12)}-{_pick('0123456789', 12)}-" + _pick(ALNUM, 32),
        ),
        _s("slack-webhook", f"https://hooks.slack.com/services/{webhook}", webhook),
        _prefixed("stripe-secret-key", "sk_live_", _pick(ALNUM, 24)),
        _prefixed("stripe-restricted-key", "rk_test_", _pick(ALNUM, 24)),
        _s("sendgrid", f"SG.{_pick(URLSAFE, 22)}.{_pick(URLSAFE, 43)}"),
        _s("twilio-account-sid", "AC" + _pick(HEX, 32)),
        _s("twilio-api-key", "SK" + _pick(HEX, 32)),
        _s("databricks", "dapi" + _pick(HEX, 32)),
        _s("vault-token", "hvs." + _pick(URLSAFE, 90)),
        _s("openai-key", "sk-" + _pick(ALNUM, 48)),
        _s("openai-project-key", "sk-proj-" + _pick(URLSAFE, 64)),
        _s("anthropic-key", "sk-ant-api03-" + _pick(URLSAFE, 93) + "AA"),
        _s("jwt", _jwt()),
        _s("pem-private-key", f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}", "-----BEGIN RSA"),
        _s("basic-auth-header", f"Authorization: Basic {basic}", basic),
        _s("url-credentials", f"https://svc:{url_password}@db.example.com/app", url_password),
        _s("password-assignment", f"password={password}", password),
        _s("secret-assignment", f"client_secret: {password}x", password + "x"),
        _s("random-token-32", token32),
        _s("hex-secret-64", hex64),
        _s("kv-path-secret", f"kv/{kv_secret}", kv_secret),
        _s("bearer-token", "Bearer " + _pick(URLSAFE, 40), None),
    ]


SECRETS: list[Sample] = _secrets()
SECRETS[-1] = _s("bearer-token", SECRETS[-1].value, SECRETS[-1].value.removeprefix("Bearer "))

LOOKALIKES: list[str] = [
    "vault://kv/data/team/app",
    "vault://kv/data/platform-team/customer-support-assistant/prod/db",
    "aws-sm://prod/app/db",
    "kv/app/openai",
    "gcp-sm://projects/acme-prod/secrets/crm-api/versions/3",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/app/db-AbCdEf",
    "arn:aws:iam::123456789012:role/support-assistant-prod",
    "123e4567-e89b-12d3-a456-426614174000",
    "9f1c2a7e5b6d4c3e8a1f0b2d3c4e5f6a",  # uuid4().hex, a common event id
    "commit 3f9c2b1a4d5e6f708192a3b4c5d6e7f8091a2b3c",
    "holds persistent credentials: support-assistant-crm-reader)",
    "sha 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "rev: 1a410efbd13591db07496601ebc7a059dd55cfe9",
    "image@sha256:" + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "dana.business@example.com",
    "https://crm.example.com/api/v2/tickets?status=open",
    "https://user@git.example.com/org/repo.git",
    "1.4.2",
    "v2.10.0-rc.1+build.20261126",
    "2026-11-26T09:30:00Z",
    "2027-09-30",
    "crm:read",
    "tickets:write",
    "secret:read",
    "token:refresh",
    "https://www.googleapis.com/auth/cloud-platform",
    "s3://acme-support-transcripts/2026/11/",
    "claude-3-5-sonnet-20241022",
    "gpt-4o-mini-2024-07-18",
    "customer-support-assistant-prod-readonly",
    "support-assistant-crm-service-account",
    "Routes customer tickets to the right queue and drafts replies for agents to review.",
    "password: see vault://kv/app/db",
    "password=${DB_PASSWORD}",
    "Issuing refunds above 500 EUR needs a supervisor's approval.",
    "The model was retrained on 2026-11-20; see commit 3f9c2b1a4d5e6f708192a3b4c5d6e7f8091a2b3c.",
    "ReadOnlyDatabaseUserForReportingService",
    "projects/acme-prod/locations/europe-west4/keyRings/app/cryptoKeys/crm",
]


def leaked(sample: Sample, text: str) -> list[str]:
    """Every 8-character piece of the sample's secret that `text` contains (shorter pieces of a
    random hex secret turn up by chance in a page full of ids and CSRF tokens)."""
    secret = sample.secret
    return [secret[i : i + 8] for i in range(len(secret) - 7) if secret[i : i + 8] in text]
