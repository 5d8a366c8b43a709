namespace LocalAgentService.Tests;

/// <summary>One fast-timing server shared by a test class.</summary>
public sealed class FastServer : IAsyncLifetime
{
    public LocalAgentServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await Support.StartFastAsync();

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
