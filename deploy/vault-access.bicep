// The bot's identity gets the custom role of deploy/site-recovery-role.json on the Recovery
// Services vault, and nothing wider (a module: the vault may be in another resource group).

@description('Recovery Services vault name.')
param vaultName string

@description('Principal (object) ID of the bot\'s managed identity.')
param principalId string

@description('Name (a GUID) of the custom role created from deploy/site-recovery-role.json.')
param roleId string

resource vault 'Microsoft.RecoveryServices/vaults@2024-04-01' existing = {
  name: vaultName
}

resource siteRecoveryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
