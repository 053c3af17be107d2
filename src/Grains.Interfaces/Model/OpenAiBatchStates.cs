namespace OrleansLlm;

/// <summary>An OpenAI batch's statuses: <see cref="BatchStates"/>' own, and <see cref="Failed"/> for an input file refused at validation.</summary>
public static class OpenAiBatchStates
{
    public const string Validating = BatchStates.Validating;
    public const string Failed = "failed";
    public const string InProgress = BatchStates.InProgress;
    public const string Finalizing = "finalizing";
    public const string Completed = BatchStates.Completed;
    public const string Expired = BatchStates.Expired;
    public const string Cancelling = BatchStates.Cancelling;
    public const string Cancelled = BatchStates.Cancelled;

    /// <summary>Every status, in the order a batch goes through them.</summary>
    public static IReadOnlyList<string> All { get; } = [Validating, Failed, InProgress, Finalizing, Completed, Expired, Cancelling, Cancelled];
}
