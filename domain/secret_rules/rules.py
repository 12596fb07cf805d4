"""The rule set as data: one `Rule` per secret shape, each naming the upstream rule it mirrors.

Provenance `gitleaks:<id>` is a rule of gitleaks' default config (config/gitleaks.toml);
`detect-secrets:<Plugin>` a Yelp detect-secrets plugin; `threshold:` a shape neither covers
(or one we broadened), with the reason. Patterns are Python `re`; a `secret` group, when
present, is the part that is secret (the fingerprint and the redaction cover it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Check(StrEnum):
    """An extra test a regex match must pass before it counts (to keep look-alikes out)."""

    none = "none"
    assignment = "assignment"
    basic_credentials = "basic_credentials"


@dataclass(frozen=True)
class Rule:
    """One secret shape: id, what it is, the regex, where the rule comes from."""

    id: str
    label: str
    pattern: str
    provenance: str
    check: Check = Check.none


_B = r"(?<![A-Za-z0-9_-])"  # start of a token (`\b` would miss `key-sk-...` style glue)
_ASSIGN_KEYS = (
    r"password|passwd|passphrase|pwd|pass|secret|client[_-]?secret|secret[_-]?key|api[_-]?key"
    r"|apikey|access[_-]?key|auth[_-]?token|access[_-]?token|token|private[_-]?key|credentials?"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        "a PEM private key",
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
        "gitleaks:private-key",
    ),
    Rule(
        "gcp-service-account",
        "a Google service-account key file",
        r"\"type\"\s*:\s*\"service_account\"|\"private_key_id\"\s*:\s*\"(?P<secret>[0-9a-f]{40})\"",
        "threshold: the service-account JSON key file format (its private_key is also caught "
        "by gitleaks:private-key)",
    ),
    Rule(
        "aws-access-token",
        "an AWS access key id",
        r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])",
        "gitleaks:aws-access-token (no leading word boundary, so `keyAKIA...` is caught)",
    ),
    Rule(
        "aws-secret-access-key",
        "an AWS secret access key",
        r"(?i)aws.{0,20}?(?:secret|key).{0,20}?[\s=:\"']+(?P<secret>[A-Za-z0-9/+]{40})"
        r"(?![A-Za-z0-9/+])",
        'gitleaks:"AWS Secret Key" (v7 default config) / detect-secrets:AWSKeyDetector',
    ),
    Rule("gcp-api-key", "a Google API key", r"AIza[0-9A-Za-z_-]{35}", "gitleaks:gcp-api-key"),
    Rule(
        "azure-storage-account-key",
        "an Azure storage account key",
        r"(?i)AccountKey\s*=\s*(?P<secret>[A-Za-z0-9+/]{86,88}={0,2})",
        "detect-secrets:AzureStorageKeyDetector",
    ),
    Rule(
        "azure-ad-client-secret",
        "an Azure AD client secret",
        r"(?<![A-Za-z0-9_~.])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})",
        "gitleaks:azure-ad-client-secret",
    ),
    Rule(
        "azure-sas-token",
        "an Azure shared access signature",
        r"(?i)(?:^|[?&])sig=(?P<secret>[A-Za-z0-9%+/=]{20,})",
        "threshold: the SAS query string (`sv=...&sig=...`); gitleaks has no default rule",
    ),
    Rule(
        "github-pat",
        "a GitHub personal access token",
        r"ghp_[0-9A-Za-z]{20,}",
        "gitleaks:github-pat",
    ),
    Rule("github-oauth", "a GitHub OAuth token", r"gho_[0-9A-Za-z]{20,}", "gitleaks:github-oauth"),
    Rule(
        "github-app-token",
        "a GitHub app token",
        r"(?:ghu|ghs)_[0-9A-Za-z]{20,}",
        "gitleaks:github-app-token",
    ),
    Rule(
        "github-refresh-token",
        "a GitHub refresh token",
        r"ghr_[0-9A-Za-z]{20,}",
        "gitleaks:github-refresh-token",
    ),
    Rule(
        "github-fine-grained-pat",
        "a GitHub fine-grained token",
        r"github_pat_[0-9A-Za-z_]{30,}",
        "gitleaks:github-fine-grained-pat",
    ),
    Rule("gitlab-pat", "a GitLab token", r"glpat-[0-9A-Za-z_-]{20,}", "gitleaks:gitlab-pat"),
    Rule(
        "slack-bot-token",
        "a Slack bot token",
        r"xoxb-[0-9A-Za-z-]{10,}",
        "gitleaks:slack-bot-token",
    ),
    Rule(
        "slack-user-token",
        "a Slack user token",
        r"xox[pe]-[0-9A-Za-z-]{10,}",
        "gitleaks:slack-user-token",
    ),
    Rule(
        "slack-legacy-token",
        "a Slack legacy token",
        r"xox[aors]-[0-9A-Za-z-]{10,}",
        "gitleaks:slack-legacy-token / slack-legacy-workspace-token",
    ),
    Rule(
        "slack-app-token",
        "a Slack app token",
        r"(?i)xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+",
        "gitleaks:slack-app-token",
    ),
    Rule(
        "slack-webhook-url",
        "a Slack webhook URL",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/]{20,})",
        "gitleaks:slack-webhook-url",
    ),
    Rule(
        "stripe-access-token",
        "a Stripe key",
        r"(?:sk|rk)_(?:test|live|prod)_[0-9A-Za-z]{10,99}",
        "gitleaks:stripe-access-token",
    ),
    Rule(
        "sendgrid-api-token",
        "a SendGrid API key",
        r"SG\.[0-9A-Za-z_-]{16,32}\.[0-9A-Za-z_-]{16,64}",
        "gitleaks:sendgrid-api-token",
    ),
    Rule(
        "twilio-api-key",
        "a Twilio API key",
        r"SK[0-9a-fA-F]{32}(?![0-9a-fA-F])",
        "gitleaks:twilio-api-key",
    ),
    Rule(
        "twilio-account-sid",
        "a Twilio account SID",
        r"AC[0-9a-fA-F]{32}(?![0-9a-fA-F])",
        "detect-secrets:TwilioKeyDetector",
    ),
    Rule(
        "databricks-api-token",
        "a Databricks token",
        r"dapi[a-h0-9]{32}(?:-\d)?",
        "gitleaks:databricks-api-token",
    ),
    Rule(
        "anthropic-api-key",
        "an Anthropic API key",
        r"sk-ant-(?:api|admin|sid)\d{2}-[0-9A-Za-z_-]{20,}",
        "gitleaks:anthropic-api-key / anthropic-admin-api-key (any length of 20+)",
    ),
    Rule(
        "openai-api-key",
        "an OpenAI API key",
        _B + r"sk-(?:(?:proj|svcacct|admin)-)?[0-9A-Za-z_-]{20,}",
        "gitleaks:openai-api-key (broadened: any sk- or sk-proj- key of 20+ characters)",
    ),
    Rule(
        "vault-service-token",
        "a HashiCorp Vault token",
        r"hv[sb]\.[0-9A-Za-z_-]{24,}",
        "gitleaks:vault-service-token / vault-batch-token (any length of 24+)",
    ),
    Rule(
        "jwt",
        "a JSON Web Token",
        r"ey[0-9A-Za-z_-]{10,}\.ey[0-9A-Za-z_-]{10,}\.[0-9A-Za-z_-]*",
        "gitleaks:jwt",
    ),
    Rule(
        "http-basic-auth",
        "HTTP Basic credentials",
        r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
        "gitleaks:curl-auth-header (the `Authorization: Basic` branch)",
        Check.basic_credentials,
    ),
    Rule(
        "bearer-token",
        "a bearer token",
        r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
        "gitleaks:curl-auth-header (the `Authorization: Bearer` branch)",
    ),
    Rule(
        "url-credentials",
        "a password in a URL",
        r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:(?P<secret>[^/\s@]+)@",
        "detect-secrets:BasicAuthDetector",
    ),
    Rule(
        "secret-assignment",
        "a password or secret assignment",
        r"(?i)(?<![A-Za-z0-9:])(?:" + _ASSIGN_KEYS + r")[\"']?\s*(?P<sep>:=|=>|=|:)\s*[\"']?"
        r"(?P<secret>[^\s\"',;&]{4,})",
        "detect-secrets:KeywordDetector / gitleaks:generic-api-key",
        Check.assignment,
    ),
)
