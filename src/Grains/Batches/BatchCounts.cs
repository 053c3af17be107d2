namespace OrleansLlm.Batches;

/// <summary>A consistent snapshot of one batch's figures, read in one script.</summary>
/// <param name="Exists">A client created the batch (raw items' batch <c>default</c> never is).</param>
/// <param name="Total">Distinct items submitted.</param>
/// <param name="InFlight">Items leased now, waiting retries included.</param>
/// <param name="Done">Items with a result.</param>
public sealed record BatchCounts(bool Exists, bool Sealed, long Total, long InFlight, long Done, long DeadLettered)
{
    /// <summary>The batch's priority class.</summary>
    public BatchPriority Priority { get; init; }

    /// <summary><c>cancelled</c> or <c>expired</c> once the batch was stopped; else null.</summary>
    public string? Stopped { get; init; }

    /// <summary>Queued items removed by a cancel or the deadline.</summary>
    public long Removed { get; init; }

    /// <summary>Items set aside because no silo serves the batch's model.</summary>
    public long Parked { get; init; }

    /// <summary>The model its parked items wait for; else null.</summary>
    public string? WaitingForModel { get; init; }

    /// <summary>When what is still queued expires; null for no deadline.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Answers that came after their item had ended elsewhere, and were dropped.</summary>
    public long Late { get; init; }

    /// <summary>When the batch ended (every item done, dead-lettered or removed); null while it runs.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>When everything the batch created expires (<c>Queue:ResultTtl</c> after it ended); null while it runs or when kept.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>The API tenant whose batch it is; null for a batch the CLI submitted.</summary>
    public string? Tenant { get; init; }

    /// <summary>The batch's status (<see cref="BatchStates"/>) from these figures.</summary>
    public string Status => BatchStates.Of(Sealed, Stopped, Total, InFlight, Done, DeadLettered, Removed);
}
