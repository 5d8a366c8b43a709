using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentJobs.Deltas;

/// <summary>Chooses the delta log: in process, or a table in the task hub's storage account.</summary>
public static class DeltaLogServiceCollectionExtensions
{
    /// <summary>The Functions host's storage setting (a connection string, or <c>AzureWebJobsStorage__*</c> for an identity).</summary>
    public const string StorageSetting = "AzureWebJobsStorage";

    /// <summary>The task hub setting host.json reads (<c>%TaskHubName%</c>).</summary>
    public const string TaskHubSetting = "TaskHubName";

    /// <summary>The in-process log (the in-memory backend), unless one is registered already.</summary>
    public static IServiceCollection TryAddInMemoryDeltaLog(this IServiceCollection services)
    {
        services.TryAddSingleton<IDeltaLog, InMemoryDeltaLog>();
        services.TryAddSingleton(DeltaLogOptions.InMemory());
        return services;
    }

    /// <summary>Replaces the log with the in-process one.</summary>
    public static IServiceCollection AddInMemoryDeltaLog(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<IDeltaLog, InMemoryDeltaLog>());
        services.Replace(ServiceDescriptor.Singleton(DeltaLogOptions.InMemory()));
        return services;
    }

    /// <summary>Replaces the log with a table in the storage account of <paramref name="connectionString"/>, named after <paramref name="taskHub"/>.</summary>
    public static IServiceCollection AddTableDeltaLog(this IServiceCollection services, string connectionString, string taskHub) =>
        services.AddTableDeltaLog(() => new TableServiceClient(connectionString), taskHub);

    /// <summary>Replaces the log with a table of <paramref name="service"/> (made when first used), named after <paramref name="taskHub"/>.</summary>
    public static IServiceCollection AddTableDeltaLog(this IServiceCollection services, Func<TableServiceClient> service, string taskHub)
    {
        services.Replace(ServiceDescriptor.Singleton<IDeltaLog>(new TableDeltaLog(service, TableDeltaLog.TableName(taskHub))));
        services.Replace(ServiceDescriptor.Singleton(new DeltaLogOptions()));
        return services;
    }

    /// <summary>
    /// The Functions app: the table log in the storage account of <c>AzureWebJobsStorage</c> (a connection string, or
    /// <c>AzureWebJobsStorage__tableServiceUri</c> / <c>__accountName</c> with <c>__credential</c> and <c>__clientId</c>
    /// as the Functions host reads them), named after <c>TaskHubName</c>; the in-process log when none is set.
    /// </summary>
    public static IServiceCollection AddDeltaLogFromConfiguration(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var hub = configuration[TaskHubSetting] is { Length: > 0 } name ? name : "AgentFunctions";
        if (configuration[StorageSetting] is { Length: > 0 } connectionString)
        {
            return services.AddTableDeltaLog(connectionString, hub);
        }

        var section = configuration.GetSection(StorageSetting);
        var uri = section["tableServiceUri"] is { Length: > 0 } tableUri ? new Uri(tableUri)
            : section["accountName"] is { Length: > 0 } account ? new Uri($"https://{account}.table.core.windows.net")
            : null;
        if (uri is null)
        {
            return services.TryAddInMemoryDeltaLog();
        }

        var clientId = section["clientId"];
        return services.AddTableDeltaLog(
            () =>
            {
                TokenCredential credential = string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
                    ? new ManagedIdentityCredential(string.IsNullOrEmpty(clientId) ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId))
                    : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
                return new TableServiceClient(uri, credential);
            },
            hub);
    }
}
