using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local;

/// <summary>
/// Holds back log output while the host starts. A start that fails is reported by one <c>error:</c> line, not by
/// the stack traces the host and the storage provider log on the way (they are written only with <c>--verbose</c>);
/// a start that succeeds writes what was held, in order.
/// </summary>
internal sealed class StartupLogGate
{
    readonly Lock sync = new();
    List<Action>? held = [];

    /// <summary>Holds <paramref name="write"/> if the gate is still closed; false once it has been released.</summary>
    public bool TryHold(Action write)
    {
        lock (sync)
        {
            held?.Add(write);
            return held is not null;
        }
    }

    /// <summary>Opens the gate for good, writing what was held (<paramref name="write"/>) or dropping it.</summary>
    public void Release(bool write)
    {
        List<Action>? pending;
        lock (sync)
        {
            pending = held;
            held = null;
        }

        if (write && pending is not null)
        {
            foreach (var entry in pending)
            {
                entry();
            }
        }
    }

    /// <summary>Wraps a provider so its loggers go through the gate.</summary>
    public ILoggerProvider Wrap(ILoggerProvider inner) => new GatedProvider(inner, this);

    sealed class GatedProvider(ILoggerProvider inner, StartupLogGate gate) : ILoggerProvider, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName) => new GatedLogger(inner.CreateLogger(categoryName), gate);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => (inner as ISupportExternalScope)?.SetScopeProvider(scopeProvider);

        public void Dispose() => inner.Dispose();
    }

    sealed class GatedLogger(ILogger inner, StartupLogGate gate) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!gate.TryHold(() => inner.Log(logLevel, eventId, state, exception, formatter)))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
