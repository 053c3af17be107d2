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
    /// <param name="Generation">Ollama's last answer, for the concurrency controller.</param>
    /// <param name="Usage">What every Ollama call for this answer cost, counted for its batch.</param>
    public sealed record Answered(string BatchId, string ItemId, string Result, Generation Generation, TokenUsage Usage) : ItemOutcome;

    /// <summary>Ollama refused this item (e.g. HTTP 400): it is tried again after <paramref name="RetryAfter"/>, up to <c>Queue:MaxAttempts</c>.</summary>
    /// <param name="Reason">The class of the error (<see cref="FailureReasons"/>): what metrics and traces label it with.</param>
    public sealed record Failed(string Error, TimeSpan RetryAfter, string Reason) : ItemOutcome;

    /// <summary>
    /// The silo's own Ollama failed: unreachable (<paramref name="Certain"/>: surely the backend's fault), or HTTP
    /// 5xx, a missing model, a timeout or a cut-off answer (perhaps the item's: the worker checks whether the
    /// backend serves other requests before it blames either).
    /// </summary>
    public sealed record BackendFault(string Error, bool Certain, TimeSpan RetryAfter, string Reason) : ItemOutcome;

    /// <summary>The item can't be processed as it is (not JSON, a field the prompt needs is missing, a forged envelope, ...): dead-lettered at once.</summary>
    public sealed record Malformed(string Reason) : ItemOutcome;

    /// <summary>A raw item whose id already has a result from another item: dead-lettered, so both are kept.</summary>
    /// <param name="Usage">What was spent on it: nothing when it was found before Ollama was asked.</param>
    public sealed record DuplicateId(string Reason, TokenUsage Usage) : ItemOutcome;

    /// <summary>The very same item was delivered again after its result was stored: its lease is dropped, nothing is lost.</summary>
    /// <param name="Usage">What was spent on it: nothing when it was found before Ollama was asked.</param>
    public sealed record AlreadyDone(string ItemId, TokenUsage Usage) : ItemOutcome;

    /// <summary>
    /// Ollama answered, twice, but neither answer has the batch's format (the second was asked with the first's
    /// error): dead-lettered with the error and the last answer. Ollama worked fine, so the backend is not blamed.
    /// </summary>
    /// <param name="Error">What is wrong with the last answer.</param>
    /// <param name="Answer">The last answer, as the model wrote it.</param>
    /// <param name="Generation">Ollama's last answer, for the concurrency controller.</param>
    /// <param name="Usage">What both calls cost, counted for the batch.</param>
    public sealed record InvalidAnswer(string ItemId, string Error, string Answer, Generation Generation, TokenUsage Usage) : ItemOutcome;
}
