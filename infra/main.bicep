// AgentFunctions infrastructure for the Azure Developer CLI (azd up / azd down).
// Creates one resource group with: a user-assigned identity, a keyless storage account, Log Analytics +
// Application Insights (Entra ID ingestion), a Microsoft Foundry account + project + model deployment,
// the Flex Consumption Function App that runs src/AgentFunctions and, optionally, a Durable Task
// Scheduler. No keys, SAS tokens or secret connection strings are created or read anywhere.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds resource names and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer Flex Consumption and the chosen model/SKU.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional object id of the developer running azd (AZURE_PRINCIPAL_ID); gets Azure AI User on the Foundry account for local runs.')
param principalId string = ''

@description('Name of the resource group; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Agent backend the app uses: classic (Agents/Assistants API) or foundry (Responses/agents v2 API).')
@allowed([
  'classic'
  'foundry'
])
param agentProtocol string = 'classic'

@description('Model deployment name the app sends as its model (AgentService__Model).')
param modelDeploymentName string = 'gpt-5-mini'

@description('Model name in the Foundry catalog.')
param modelName string = 'gpt-5-mini'

@description('Model version. gpt-5-mini 2025-08-07 is the GA successor of gpt-4o-mini / gpt-4.1-mini.')
param modelVersion string = '2025-08-07'

@description('Model deployment SKU.')
@allowed([
  'GlobalStandard'
  'DataZoneStandard'
  'Standard'
])
param modelSkuName string = 'GlobalStandard'

@description('Model deployment capacity (thousands of tokens per minute).')
@minValue(1)
param modelCapacity int = 10

@description('Durable Functions task hub name (letters and digits, 3-45). Empty: derived from the environment name.')
@maxLength(45)
param taskHubName string = ''

@description('Days finished agent jobs (and batches) keep their durable state; the app purges them after that. 0 keeps them forever.')
@minValue(0)
param retentionDays int = 7

@description('Seconds the activity that starts a run (or submits tool outputs) follows the run\'s stream before durable-timer polling takes over. A held activity is billed and holds an activity slot while it waits; 0 turns streaming off.')
@minValue(0)
@maxValue(120)
param streamWindowSeconds int = 10

@description('Memory per Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Maximum number of Function App instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Functions runtime version for dotnet-isolated; matches TargetFramework net10.0.')
param functionsRuntimeVersion string = '10.0'

@description('Also deploy a Durable Task Scheduler + task hub and point the app at it (the app also needs the azureManaged storage provider to use it).')
param enableDurableTaskScheduler bool = false

@description('Durable Task Scheduler SKU.')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var cleanEnvironmentName = toLower(replace(replace(replace(environmentName, '-', ''), '_', ''), '.', ''))
var effectiveTaskHubName = !empty(taskHubName) ? taskHubName : 'agents${take(cleanEnvironmentName, 39)}'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    appPrincipalId: identity.outputs.principalId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module foundry 'modules/foundry.bicep' = {
  name: 'foundry'
  scope: rg
  params: {
    accountName: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
    projectName: '${abbrs.cognitiveServicesProjects}${resourceToken}'
    location: location
    tags: tags
    modelDeploymentName: modelDeploymentName
    modelName: modelName
    modelVersion: modelVersion
    modelSkuName: modelSkuName
    modelCapacity: modelCapacity
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
  }
}

module durableTaskScheduler 'modules/durable-task-scheduler.bicep' = if (enableDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: '${abbrs.durableTaskSchedulers}${resourceToken}'
    location: location
    tags: tags
    taskHubName: effectiveTaskHubName
    skuName: durableTaskSchedulerSku
    appPrincipalId: identity.outputs.principalId
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    runtimeName: 'dotnet-isolated'
    runtimeVersion: functionsRuntimeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    agentProtocol: agentProtocol
    agentEndpoint: foundry.outputs.projectEndpoint
    agentModel: foundry.outputs.modelDeploymentName
    taskHubName: effectiveTaskHubName
    retentionDays: retentionDays
    streamWindowSeconds: streamWindowSeconds
    durableTaskSchedulerEndpoint: enableDurableTaskScheduler ? durableTaskScheduler!.outputs.endpoint : ''
  }
}

// Outputs land in .azure/<env>/.env; azd reads AZURE_* and SERVICE_* names itself.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output RESOURCE_GROUP string = rg.name
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_URI string = functionApp.outputs.uri
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output SERVICE_API_ENDPOINT_URL string = functionApp.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_AI_ACCOUNT_NAME string = foundry.outputs.accountName
output AZURE_AI_PROJECT_NAME string = foundry.outputs.projectName
output AGENT_SERVICE_PROTOCOL string = agentProtocol
output AGENT_SERVICE_ENDPOINT string = foundry.outputs.projectEndpoint
output AGENT_SERVICE_MODEL string = foundry.outputs.modelDeploymentName
output TASK_HUB_NAME string = effectiveTaskHubName
output DURABLE_TASK_SCHEDULER_ENDPOINT string = enableDurableTaskScheduler ? durableTaskScheduler!.outputs.endpoint : ''
