namespace OrleansLlm;

/// <summary>
/// A batch's status, as <c>status</c> shows it and the OpenAI Batch API names its own: <see cref="Validating"/> while
/// the client is still submitting, <see cref="InProgress"/>, <see cref="Completed"/>; <see cref="Cancelling"/> while
/// items in flight finish after a cancel, then <see cref="Cancelled"/>; <see cref="Expired"/> once its deadline passed.
/// </summary>
public static class BatchStates
{
    public const string Validating = "validating";
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";
    public const string Expired = "expired";

    /// <summary>The status of a batch with these figures.</summary>
    /// <param name="stopped"><see cref="Cancelled"/> or <see cref="Expired"/> once stopped; else null.</param>
    public static string Of(bool isSealed, string? stopped, long total, long inFlight, long done, long deadLettered, long removed) => stopped switch
    {
        Cancelled => inFlight > 0 ? Cancelling : Cancelled,
        Expired => Expired,
        _ when !isSealed => Validating,
        _ when done + deadLettered + removed >= total => Completed,
        _ => InProgress,
    };
}
