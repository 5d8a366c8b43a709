// Optional Durable Task Scheduler (managed backend for Durable Functions) with one task hub, and the
// "Durable Task Data Contributor" role for the app identity. Only deployed when
// enableDurableTaskScheduler is true in main.bicep.

@description('Scheduler name (letters, digits and hyphens, 3-64).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the scheduler.')
param tags object = {}

@description('Task hub name; the app reads the same value from the TaskHubName setting.')
param taskHubName string

@description('Scheduler SKU.')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@description('Principal id of the app identity.')
param appPrincipalId string

var durableTaskDataContributorRoleId = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: skuName == 'Dedicated'
      ? {
          name: 'Dedicated'
          capacity: 1
        }
      : {
          name: 'Consumption'
        }
    // An empty allow-list denies every caller; access is still gated by Entra ID + RBAC.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, appPrincipalId, durableTaskDataContributorRoleId)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
