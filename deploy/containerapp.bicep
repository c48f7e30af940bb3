// reprotect-bot on Azure Container Apps (README, "Deploying it").
//
// Creates: a user-assigned managed identity (the bot's Azure identity, AZURE_CLIENT_ID), a
// Log Analytics workspace, an Azure Database for PostgreSQL flexible server with the bot's
// database, a Container Apps environment, the bot's container app (probes on /healthz and
// /readyz) and a manual job that runs `reprotect-bot migrate` (the release step).
// Grants the identity: Key Vault Secrets User on the key vault, AcrPull on the registry, and
// the custom role of deploy/site-recovery-role.json on the Recovery Services vault.
// Every secret comes from Key Vault by reference, read with the identity; none is a parameter
// of the container app.

@description('Prefix of every resource name.')
param name string = 'reprotect-bot'

param location string = resourceGroup().location

@description('Image built from deploy/Containerfile, e.g. contoso.azurecr.io/reprotect-bot:0.1.0.')
param image string

@description('Azure Container Registry holding the image, in this resource group.')
param registryName string

@description('Key Vault (Azure RBAC authorization) holding the secrets, in this resource group.')
param keyVaultName string

@description('Subscription of the Recovery Services vault (AZURE_SUBSCRIPTION_ID).')
param vaultSubscriptionId string = subscription().subscriptionId

@description('Resource group of the Recovery Services vault (ASR_RESOURCE_GROUP).')
param vaultResourceGroup string

@description('Recovery Services vault name (ASR_VAULT_NAME).')
param vaultName string

@description('Name (a GUID) of the custom role created from deploy/site-recovery-role.json.')
param siteRecoveryRoleId string

@description('REPROTECT_APPROVERS: Slack user (U…, W…) and user group (S…) IDs, comma-separated.')
param approvers string

@description('REPROTECT_CHANNELS: channel IDs where the commands are accepted; empty: any.')
param channels string = ''

@description('REPROTECT_REQUESTERS: user and user group IDs allowed to request; empty: anyone.')
param requesters string = ''

@minValue(1)
@maxValue(10)
param requiredApprovals int = 1

@minValue(1)
param approvalTtlMinutes int = 60

@minValue(1)
param pollSeconds int = 30

@minValue(1)
param protectTimeoutMinutes int = 720

@allowed([
  'approve'
  'tick'
])
param manualConfirmation string = 'approve'

@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
param logLevel string = 'INFO'

@description('VCENTER_URL of the private cloud (https://…/sdk); empty: vCenter checks are a warning.')
param vcenterUrl string = ''

@description('VCENTER_USER; its password is the Key Vault secret vcenter-password.')
param vcenterUser string = ''

@description('true: Socket Mode (Key Vault secret slack-app-token) and internal ingress only; false: HTTP mode, external ingress for Slack (secret slack-signing-secret).')
param socketMode bool = false

@description('Subnet (delegated to Microsoft.App/environments) with a route to the private cloud, for vCenter; empty: no virtual network.')
param infrastructureSubnetId string = ''

param postgresAdminLogin string = 'reprotectadmin'

@description('PostgreSQL administrator password: pass it as a Key Vault reference (see the parameters example).')
@secure()
param postgresAdminPassword string

@description('Several replicas share the work safely on PostgreSQL (never on SQLite).')
@minValue(1)
@maxValue(10)
param maxReplicas int = 2

var port = 3000
// Built-in role definitions (their IDs are the same in every tenant).
var keyVaultSecretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6'
var acrPullRole = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource readSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, keyVaultSecretsUserRole)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource pullImage 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, identity.id, acrPullRole)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

module vaultAccess 'vault-access.bicep' = {
  name: '${name}-vault-access'
  scope: resourceGroup(vaultSubscriptionId, vaultResourceGroup)
  params: {
    vaultName: vaultName
    principalId: identity.properties.principalId
    roleId: siteRecoveryRoleId
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: '${name}-pg'
  location: location
  sku: {
    name: 'Standard_B1ms'
    tier: 'Burstable'
  }
  properties: {
    version: '16'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: {
      storageSizeGB: 32
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: 'reprotect'
}

// Public access limited to Azure services (TLS and a password still required). With
// infrastructureSubnetId, prefer the server's private access in that virtual network.
resource allowAzureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: empty(infrastructureSubnetId) ? null : {
      infrastructureSubnetId: infrastructureSubnetId
    }
  }
}

// Container Apps secrets, each a Key Vault reference read with the identity.
var databaseSecret = [
  {
    name: 'database-url'
    keyVaultUrl: '${keyVault.properties.vaultUri}secrets/database-url'
    identity: identity.id
  }
]
var slackSecrets = [
  {
    name: 'slack-bot-token'
    keyVaultUrl: '${keyVault.properties.vaultUri}secrets/slack-bot-token'
    identity: identity.id
  }
  socketMode ? {
    name: 'slack-app-token'
    keyVaultUrl: '${keyVault.properties.vaultUri}secrets/slack-app-token'
    identity: identity.id
  } : {
    name: 'slack-signing-secret'
    keyVaultUrl: '${keyVault.properties.vaultUri}secrets/slack-signing-secret'
    identity: identity.id
  }
]
var vcenterSecret = empty(vcenterUrl) ? [] : [
  {
    name: 'vcenter-password'
    keyVaultUrl: '${keyVault.properties.vaultUri}secrets/vcenter-password'
    identity: identity.id
  }
]

// The settings of README "Settings"; secrets by reference only.
var settings = [
  {
    name: 'PORT'
    value: string(port)
  }
  {
    name: 'DATABASE_URL'
    secretRef: 'database-url'
  }
  {
    name: 'SLACK_BOT_TOKEN'
    secretRef: 'slack-bot-token'
  }
  socketMode ? {
    name: 'SLACK_APP_TOKEN'
    secretRef: 'slack-app-token'
  } : {
    name: 'SLACK_SIGNING_SECRET'
    secretRef: 'slack-signing-secret'
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
  {
    name: 'AZURE_SUBSCRIPTION_ID'
    value: vaultSubscriptionId
  }
  {
    name: 'ASR_RESOURCE_GROUP'
    value: vaultResourceGroup
  }
  {
    name: 'ASR_VAULT_NAME'
    value: vaultName
  }
  {
    name: 'REPROTECT_APPROVERS'
    value: approvers
  }
  {
    name: 'REPROTECT_REQUIRED_APPROVALS'
    value: string(requiredApprovals)
  }
  {
    name: 'REPROTECT_APPROVAL_TTL_MINUTES'
    value: string(approvalTtlMinutes)
  }
  {
    name: 'REPROTECT_POLL_SECONDS'
    value: string(pollSeconds)
  }
  {
    name: 'REPROTECT_PROTECT_TIMEOUT_MINUTES'
    value: string(protectTimeoutMinutes)
  }
  {
    name: 'REPROTECT_MANUAL_CONFIRMATION'
    value: manualConfirmation
  }
  {
    name: 'LOG_LEVEL'
    value: logLevel
  }
]
var channelSettings = empty(channels) ? [] : [
  {
    name: 'REPROTECT_CHANNELS'
    value: channels
  }
]
var requesterSettings = empty(requesters) ? [] : [
  {
    name: 'REPROTECT_REQUESTERS'
    value: requesters
  }
]
var vcenterSettings = empty(vcenterUrl) ? [] : [
  {
    name: 'VCENTER_URL'
    value: vcenterUrl
  }
  {
    name: 'VCENTER_USER'
    value: vcenterUser
  }
  {
    name: 'VCENTER_PASSWORD'
    secretRef: 'vcenter-password'
  }
]

var registries = [
  {
    server: registry.properties.loginServer
    identity: identity.id
  }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  dependsOn: [
    readSecrets
    pullImage
    vaultAccess
    database
  ]
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      // Container Apps ingress cannot filter paths: in HTTP mode /metrics and /readyz are as
      // public as /slack/events (README, "Deploying it": Socket Mode or a front door rule).
      ingress: {
        external: !socketMode
        targetPort: port
        transport: 'http'
        allowInsecure: false
      }
      registries: registries
      secrets: concat(databaseSecret, slackSecrets, vcenterSecret)
    }
    template: {
      containers: [
        {
          name: 'bot'
          image: image
          args: [
            'serve'
          ]
          env: concat(settings, channelSettings, requesterSettings, vcenterSettings)
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          probes: [
            {
              // serve applies pending migrations before it answers: up to 100 s.
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: port
              }
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: port
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: port
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: maxReplicas
      }
    }
  }
}

// The release step: `az containerapp job start` before each new image goes live.
resource migrate 'Microsoft.App/jobs@2024-03-01' = {
  name: '${name}-migrate'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  dependsOn: [
    readSecrets
    pullImage
    database
  ]
  properties: {
    environmentId: environment.id
    configuration: {
      triggerType: 'Manual'
      replicaTimeout: 600
      replicaRetryLimit: 1
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      registries: registries
      secrets: databaseSecret
    }
    template: {
      containers: [
        {
          name: 'migrate'
          image: image
          args: [
            'migrate'
          ]
          env: [
            {
              name: 'DATABASE_URL'
              secretRef: 'database-url'
            }
          ]
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
          }
        }
      ]
    }
  }
}

output appFqdn string = socketMode ? '' : app.properties.configuration.ingress.fqdn
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output postgresHost string = postgres.properties.fullyQualifiedDomainName
output migrateJob string = migrate.name
