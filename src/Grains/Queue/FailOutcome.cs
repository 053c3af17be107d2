using OrleansLlm.Options;

namespace OrleansLlm.Queue;

/// <summary>What became of a failed item.</summary>
public enum FailOutcome
{
    /// <summary>Its backend failed, not the item: back at the head of where it waits, no attempt spent.</summary>
    Released,

    /// <summary>The item waits out its retry delay, then the next lease takes it.</summary>
    Retrying,

    /// <summary>It failed <see cref="QueueOptions.MaxAttempts"/> times and went to its batch's dead letters.</summary>
    DeadLettered,

    /// <summary>Its batch was cancelled or expired meanwhile: it was removed rather than tried again.</summary>
    Removed,

    /// <summary>The lease was no longer the caller's (it expired and was handed back); nothing changed.</summary>
    LeaseLost,
}
