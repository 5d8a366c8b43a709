// Microsoft Foundry: an AIServices account with project management enabled, one project (the agent
// endpoint the app talks to) and one model deployment. Local (key) auth is disabled; the app identity
// gets "Azure AI User" on the account, which covers creating and running agents in its projects.

@description('Foundry account name; also used as its custom subdomain (<name>.services.ai.azure.com).')
@minLength(2)
@maxLength(64)
param accountName string

@description('Foundry project name.')
param projectName string

@description('Azure region.')
param location string

@description('Tags applied to the account and project.')
param tags object = {}

@description('Model deployment name (what the app sends as the model).')
param modelDeploymentName string

@description('Model name in the Foundry catalog.')
param modelName string

@description('Model version.')
param modelVersion string

@description('Model format (publisher).')
param modelFormat string = 'OpenAI'

@description('Deployment SKU, e.g. GlobalStandard.')
param modelSkuName string

@description('Deployment capacity in thousands of tokens per minute.')
@minValue(1)
param modelCapacity int

@description('Principal id of the app identity.')
param appPrincipalId string

@description('Optional principal id of the developer running azd (gets Azure AI User too, for local runs). Empty to skip.')
param developerPrincipalId string = ''

@description('Principal type of developerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string = 'User'

// "Azure AI User": reader on the account and project plus Microsoft.CognitiveServices/* data actions
// (agents, threads, runs, model inference).
var azureAiUserRoleId = '53ca6127-db72-4b80-b1b0-d745d6d5456d'

resource account 'Microsoft.CognitiveServices/accounts@2025-12-01' = {
  name: accountName
  location: location
  tags: tags
  kind: 'AIServices'
  sku: {
    name: 'S0'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    allowProjectManagement: true
    customSubDomainName: accountName
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-12-01' = {
  parent: account
  name: projectName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    displayName: projectName
    description: 'Agent jobs run by the AgentFunctions app.'
  }
  // One change at a time on the account: parallel child writes can fail with a conflict.
  dependsOn: [
    modelDeployment
  ]
}

resource modelDeployment 'Microsoft.CognitiveServices/accounts/deployments@2025-12-01' = {
  parent: account
  name: modelDeploymentName
  sku: {
    name: modelSkuName
    capacity: modelCapacity
  }
  properties: {
    model: {
      format: modelFormat
      name: modelName
      version: modelVersion
    }
    versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
  }
}

resource appAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, azureAiUserRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureAiUserRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource developerAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(account.id, developerPrincipalId, azureAiUserRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureAiUserRoleId)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}

output accountId string = account.id
output accountName string = account.name
output projectName string = project.name
// The project endpoint the Foundry SDKs and the agents API use.
output projectEndpoint string = 'https://${accountName}.services.ai.azure.com/api/projects/${project.name}'
output modelDeploymentName string = modelDeployment.name
