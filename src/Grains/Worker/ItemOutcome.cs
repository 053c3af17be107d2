using OrleansLlm.Ollama;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Worker;

/// <summary>What processing one leased item came to. <see cref="WorkerGrain"/> settles every kind in one place.</summary>
public abstract record ItemOutcome
{
    private ItemOutcome()
    {
    }

    /// <summary>Ollama answered: the result document is ready to be stored.</summary>
    public sealed record Answered(string BatchId, string ItemId, string Result, Generation Generation) : ItemOutcome;

    /// <summary>Ollama failed on this item: it is tried again after <paramref name="RetryAfter"/>, up to <c>Queue:MaxAttempts</c>.</summary>
    public sealed record Failed(string Error, TimeSpan RetryAfter) : ItemOutcome
    {
        /// <summary>The class of the error, one of <see cref="FailureReasons"/>: what metrics and traces label it with.</summary>
        public string Reason { get; init; } = FailureReasons.Error;
    }

    /// <summary>The item can't be processed as it is (not JSON, a field the prompt needs is missing, ...): dead-lettered at once.</summary>
    public sealed record Malformed(string Reason) : ItemOutcome;

    /// <summary>The silo's own Ollama could not be reached: the item goes back unharmed, without spending an attempt.</summary>
    public sealed record BackendUnavailable(string Error) : ItemOutcome;
}
