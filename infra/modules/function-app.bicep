// Flex Consumption (FC1) plan and the Function App that hosts src/AgentFunctions. The app runs as the
// user-assigned identity: the deployment package container, AzureWebJobsStorage, Application Insights,
// Foundry and (optionally) the Durable Task Scheduler are all reached with Entra ID, never with keys.

@description('Function App name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to the plan; the app also gets azd-service-name.')
param tags object = {}

@description('azd service name the app is tagged with (azure.yaml services key).')
param serviceName string = 'api'

@description('Functions worker runtime.')
param runtimeName string = 'dotnet-isolated'

@description('Runtime version; matches the app project TargetFramework (net10.0 -> 10.0).')
param runtimeVersion string

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound on scale-out instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Storage account used for AzureWebJobsStorage and the deployment package.')
param storageAccountName string

@description('Blob endpoint of the storage account.')
param storageBlobEndpoint string

@description('Queue endpoint of the storage account.')
param storageQueueEndpoint string

@description('Table endpoint of the storage account.')
param storageTableEndpoint string

@description('Full URL of the deployment package container.')
param deploymentContainerUrl string

@description('Application Insights connection string (identifies the component; ingestion needs Entra ID).')
param applicationInsightsConnectionString string

@description('Agent backend protocol the app uses.')
@allowed([
  'classic'
  'foundry'
])
param agentProtocol string

@description('Foundry project endpoint.')
param agentEndpoint string

@description('Model deployment name.')
param agentModel string

@description('Durable Functions task hub name.')
param taskHubName string

@description('Days finished agent jobs keep their durable state before the scheduled purge removes it; 0 keeps it forever.')
@minValue(0)
param retentionDays int = 7

@description('Default stream window of agent jobs in seconds (stream-first waiting); 0 polls with durable timers only.')
@minValue(0)
@maxValue(120)
param streamWindowSeconds int = 10

@description('Durable Task Scheduler endpoint; empty when the scheduler is not deployed.')
param durableTaskSchedulerEndpoint string = ''

// Settings the app reads. Names are a contract with src/AgentFunctions: keep them in sync.
var baseAppSettings = {
  AZURE_CLIENT_ID: identityClientId
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // Durable distributed tracing (V2) where Application Insights is: host.json leaves it off so that a local
  // `func start` without a connection string does not warn on every start.
  AzureFunctionsJobHost__extensions__durableTask__tracing__distributedTracingEnabled: 'true'
  AzureFunctionsJobHost__extensions__durableTask__tracing__version: 'V2'
  AgentService__Protocol: agentProtocol
  AgentService__Endpoint: agentEndpoint
  AgentService__Model: agentModel
  TaskHubName: taskHubName
  AgentJobs__RetentionDays: string(retentionDays)
  AgentJobs__StreamWindowSeconds: string(streamWindowSeconds)
}

// Identity-based "connection string": endpoint plus which identity to use, no secret.
var durableTaskSchedulerSettings = empty(durableTaskSchedulerEndpoint)
  ? {}
  : {
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
    }

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(baseAppSettings, durableTaskSchedulerSettings)
}

// No publishing credentials: azd deploys with Entra ID (OneDeploy to the identity-backed container).
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output uri string = 'https://${functionApp.properties.defaultHostName}'
