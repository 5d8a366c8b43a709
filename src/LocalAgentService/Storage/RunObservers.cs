namespace LocalAgentService.Storage;

/// <summary>What just happened to a run; the store tells a run's observers right after each engine or client transition.</summary>
internal enum RunChange
{
    /// <summary>The run (or response) was created and is <c>queued</c>.</summary>
    Created,

    /// <summary>The engine picked the run up: <c>in_progress</c>.</summary>
    InProgress,

    /// <summary>The model called tools; the run waits for outputs (<c>requires_action</c>, classic only).</summary>
    RequiresAction,

    /// <summary>Tool outputs were submitted; the run is <c>queued</c> again.</summary>
    Requeued,

    /// <summary>A cancel was accepted: <c>cancelling</c>.</summary>
    Cancelling,

    /// <summary>The run reached a terminal status (completed, incomplete, failed, cancelled, expired).</summary>
    Finished,
}

/// <summary>
/// Follows one run's transitions as they happen (a stream). Called under the run's thread lock, right after the change,
/// so what it reads of the run is exactly the state the transition produced; it must not block.
/// </summary>
internal interface IRunObserver
{
    void OnRunChanged(RunRecord run, RunChange change);
}
