"""Structural checks of the Azure Container Apps template, `deploy/*.bicep`.

Not a Bicep compile: the Bicep CLI is not published on PyPI, Debian or npm (the npm and
azure-cli wrappers download it from GitHub), so these tests read the template's text. They
check what a deployment depends on and a review misses: the resources exist, the probes hit
`/healthz` and `/readyz` on the bot's port, every secret is a Key Vault reference read with
the managed identity, no secret is written in the files, the environment variables are the
README's settings with the secret ones by reference, and the parameters example fits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TEMPLATE = DEPLOY / "containerapp.bicep"
MODULE = DEPLOY / "vault-access.bicep"
PARAMETERS = DEPLOY / "containerapp.parameters.example.json"
# DefaultAzureCredential's variable that selects the user-assigned identity (Azure Identity
# documents it; the README's settings table refers to its standard variables).
IDENTITY_SETTINGS = {"AZURE_CLIENT_ID"}
SECRET_SETTINGS = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                   "VCENTER_PASSWORD", "DATABASE_URL"}
REQUIRED_SETTINGS = {"SLACK_BOT_TOKEN", "DATABASE_URL", "AZURE_SUBSCRIPTION_ID",
                     "ASR_RESOURCE_GROUP", "ASR_VAULT_NAME", "REPROTECT_APPROVERS"}


def text(path: Path = TEMPLATE) -> str:
    return path.read_text(encoding="utf-8")


def code(path: Path = TEMPLATE) -> str:
    """The template without its `//` comments (none of its strings holds `//` but URLs,
    which follow a quote or a colon)."""
    return re.sub(r"(?m)^\s*//.*$|(?<=[\s,{}\]])//.*$", "", text(path))


def block_around(source: str, index: int) -> str:
    """The innermost `{ … }` that contains `index`."""
    depth, start = 0, index
    while start > 0:
        start -= 1
        if source[start] == "}":
            depth += 1
        elif source[start] == "{":
            if depth == 0:
                break
            depth -= 1
    depth, end = 0, start
    for end in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[end], 0)
        if depth == 0:
            break
    return source[start:end + 1]


def resources(path: Path = TEMPLATE) -> dict[str, str]:
    """Symbolic name -> resource type."""
    return dict(re.findall(r"(?m)^resource (\w+) '([^@']+)@[^']+'", code(path)))


def env_entries() -> dict[str, str]:
    """Environment variable -> `value` or `secretRef`, over every container."""
    found = re.findall(r"name: '([A-Z][A-Z0-9_]*)'\s+(value|secretRef):", code())
    return dict(found)


def settings_table() -> set[str]:
    """The variables of README "Settings" (the first column's code spans)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Settings", 1)[1].split("\n#", 1)[0]
    names: set[str] = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    return names


def probes() -> dict[str, tuple[str, str]]:
    source = code()
    found = {}
    for match in re.finditer(r"type: '(Startup|Liveness|Readiness)'", source):
        block = block_around(source, match.start())
        path = re.search(r"path: '([^']+)'", block)
        port = re.search(r"port: (\w+)", block)
        assert path and port, block
        found[match.group(1)] = (path.group(1), port.group(1))
    return found


@pytest.mark.parametrize("path", [TEMPLATE, MODULE])
def test_brackets_and_quotes_balance(path: Path) -> None:
    """The little a text check can say about syntax (a compile would say more)."""
    source = re.sub(r"'(?:\\.|[^'\\\n])*'", "''", code(path))
    assert "'" not in source.replace("''", "")
    for opening, closing in ("{}", "[]", "()"):
        assert source.count(opening) == source.count(closing), opening


def test_the_template_declares_what_production_needs() -> None:
    kinds = set(resources().values())
    assert {
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "Microsoft.DBforPostgreSQL/flexibleServers/databases",
        "Microsoft.App/managedEnvironments",
        "Microsoft.App/containerApps",
        "Microsoft.App/jobs",
        "Microsoft.Authorization/roleAssignments",
    } <= kinds
    assert "module vaultAccess 'vault-access.bicep'" in code()


def test_the_app_runs_as_the_user_assigned_identity_that_azure_identity_picks() -> None:
    source = code()
    app_identity = source.split("resource app ", 1)[1].split("properties:", 1)[0]
    assert "type: 'UserAssigned'" in app_identity
    assert "'${identity.id}': {}" in app_identity
    assert re.search(r"name: 'AZURE_CLIENT_ID'\s+value: identity\.properties\.clientId", source)


def test_probes_check_liveness_and_readiness_on_the_bot_port() -> None:
    assert probes() == {"Startup": ("/healthz", "port"), "Liveness": ("/healthz", "port"),
                        "Readiness": ("/readyz", "port")}
    assert re.search(r"(?m)^var port = 3000$", code())
    assert "targetPort: port" in code()


def test_every_secret_is_a_key_vault_reference_read_with_the_identity() -> None:
    source = code()
    secrets = {}
    for match in re.finditer(r"name: '([a-z][a-z0-9-]*)'\s+keyVaultUrl: '([^']+)'", source):
        block = block_around(source, match.start())
        assert "identity: identity.id" in block, block
        assert "value:" not in block, block
        assert match.group(2).endswith(f"secrets/{match.group(1)}")
        secrets[match.group(1)] = match.group(2)
    refs = set(re.findall(r"secretRef: '([^']+)'", source))
    assert refs and refs <= set(secrets)
    assert {name for name, kind in env_entries().items() if kind == "secretRef"} \
        == SECRET_SETTINGS


@pytest.mark.parametrize("path", [TEMPLATE, MODULE, PARAMETERS])
def test_no_secret_is_written_in_the_deployment_files(path: Path) -> None:
    source = text(path)
    for literal in (r"xox[abp]-", r"xapp-",
                    r"(?im)^\s*(param\s+)?(?!secretref\b)\w*(password|secret|token|sharedkey|accountkey)\w*(\s+string)?\s*[:=]"
                    r"\s*'[^']+'",
                    r"(?i)postgres(ql)?(\+psycopg)?://[^'\"]*:[^'\"@]*@"):
        assert not re.search(literal, source), literal
    if path == TEMPLATE:
        assert re.search(r"@secure\(\)\s*\nparam postgresAdminPassword string\n", source)


def test_the_environment_is_the_readme_settings() -> None:
    names = set(env_entries())
    assert names - settings_table() - IDENTITY_SETTINGS == set()
    assert names >= REQUIRED_SETTINGS
    assert {name for name in SECRET_SETTINGS if env_entries().get(name) == "value"} == set()


def test_one_replica_at_least_and_the_release_job_runs_migrate() -> None:
    source = code()
    assert re.search(r"minReplicas: 1\b", source)
    job = source.split("resource migrate ", 1)[1]
    assert re.search(r"args: \[\s*'migrate'\s*\]", job)
    assert "triggerType: 'Manual'" in job
    assert re.search(r"args: \[\s*'serve'\s*\]", source.split("resource app ", 1)[1])


def test_the_vault_gets_the_custom_role_and_nothing_wider() -> None:
    module = code(MODULE)
    assert set(resources(MODULE).values()) == {"Microsoft.RecoveryServices/vaults",
                                                "Microsoft.Authorization/roleAssignments"}
    assignment = block_around(module, module.index("roleDefinitionId"))
    assert "roleDefinitions', roleId)" in assignment
    assert "scope: vault" in module


def test_the_parameters_example_fits_the_template() -> None:
    declared = {name: bool(default)
                for name, default in re.findall(r"(?m)^param (\w+) \w+( =)?", code())}
    example = json.loads(text(PARAMETERS))["parameters"]
    assert set(example) <= set(declared)
    assert {name for name, has_default in declared.items() if not has_default} <= set(example)
    secure = re.findall(r"@secure\(\)\s*\nparam (\w+)", text())
    for name in secure:
        assert set(example[name]) == {"reference"}, name
        assert example[name]["reference"]["keyVault"]["id"]


def test_the_runbook_names_the_secrets_and_the_job_the_template_reads() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    runbook = readme.split("### Runbook", 1)[1].split("\n## ", 1)[0]
    step = runbook.split("4. **Key Vault and secrets.**", 1)[1].split("\n5. ", 1)[0]
    template_secrets = set(re.findall(r"keyVaultUrl: '[^']*secrets/([a-z0-9-]+)'", code()))
    secure = set(re.findall(r"\"secretName\": \"([a-z0-9-]+)\"", text(PARAMETERS)))
    assert set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", step)) == template_secrets | secure
    assert re.search(r"(?m)^param name string = 'reprotect-bot'$", code())
    assert "name: '${name}-migrate'" in code()
    assert "-n reprotect-bot-migrate" in runbook
