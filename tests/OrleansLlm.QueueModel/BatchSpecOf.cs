namespace OrleansLlm.QueueModel;

/// <summary>One of a run's batches: its class, the model its items need (null: each silo's own), and its completion window.</summary>
public sealed record BatchSpecOf(string Id, BatchPriority Priority, string? Model, TimeSpan? Window)
{
    /// <summary>The model as the queue routes it; '' for each silo's own.</summary>
    public string Route => Model is null ? string.Empty : ModelNames.Key(Model);
}
