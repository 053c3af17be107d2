namespace OrleansLlm.QueueModel;

/// <summary>What the model knows of one batch; its counts are derived from its items, never kept apart.</summary>
public sealed class MBatch
{
    public required string Id { get; init; }

    public required BatchSpecOf Spec { get; init; }

    public long Created { get; init; }

    public bool Sealed { get; set; }

    public string? Stopped { get; set; }

    public bool DeleteAsked { get; set; }

    public long? Ended { get; set; }

    public long? Expires { get; set; }

    /// <summary>The batch is in the deadlines index until a sweep handled its deadline.</summary>
    public bool DeadlinePending { get; set; }

    public Dictionary<string, MBatchItem> Items { get; } = new(StringComparer.Ordinal);

    public List<MBatchItem> ByNumber { get; } = [];

    /// <summary>Its dead letters in order: the item, and whether retry put it back.</summary>
    public List<(string Payload, int Attempts, bool Retried)> Dead { get; } = [];

    public long Removed { get; set; }

    public long Late { get; set; }

    public long PromptTokens { get; set; }

    public long CompletionTokens { get; set; }

    public long BackendMs { get; set; }

    public long Count(ItemState state) => Items.Values.LongCount(i => i.State == state);

    public long Open => Items.Values.LongCount(i => i.State is ItemState.Ready or ItemState.Parked or ItemState.Leased or ItemState.Waiting);

    public string Status => OrleansLlm.BatchStates.Of(
        Sealed, Stopped, Items.Count, Count(ItemState.Leased) + Count(ItemState.Waiting), Count(ItemState.Done), Count(ItemState.Dead), Count(ItemState.Removed));
}
