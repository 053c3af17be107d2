using OrleansLlm.Inference;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Worker;

/// <summary>
/// What processing one leased item came to. Each kind says itself whether Ollama served it and why it failed, so
/// only <see cref="WorkerQueue.RecordAsync"/> needs to tell the kinds apart: how each is recorded in Redis.
/// </summary>
public abstract record ItemOutcome
{
    private ItemOutcome()
    {
    }

    /// <summary>Why the item failed, or null when it did not.</summary>
    public virtual ItemFailure? Failure => null;

    /// <summary>Ollama's last answer when it served the call (even in the wrong format): what the concurrency controller learns from.</summary>
    public virtual Generation? Served => null;

    /// <summary>True when the call to Ollama failed: the concurrency controller backs off, and the breaker may open.</summary>
    public virtual bool CallFailed => false;

    /// <summary>Ollama answered: the result document is ready to be stored.</summary>
    /// <param name="Generation">Ollama's last answer, for the concurrency controller.</param>
    /// <param name="Usage">What every Ollama call for this answer cost, counted for its batch.</param>
    public sealed record Answered(string BatchId, string ItemId, string Result, Generation Generation, TokenUsage Usage) : ItemOutcome
    {
        public override Generation? Served => Generation;
    }

    /// <summary>Ollama refused this item (e.g. HTTP 400): it is tried again after <paramref name="RetryAfter"/>, up to <c>Queue:MaxAttempts</c>.</summary>
    /// <param name="Reason">The class of the error (<see cref="FailureReasons"/>): what metrics and traces label it with.</param>
    public sealed record Failed(string Error, TimeSpan RetryAfter, string Reason) : ItemOutcome
    {
        public override ItemFailure? Failure => new(Reason, Error);

        public override bool CallFailed => true;
    }

    /// <summary>
    /// The silo's own Ollama failed: unreachable (<paramref name="Certain"/>: surely the backend's fault), or HTTP
    /// 5xx, a missing model, a timeout or a cut-off answer (perhaps the item's: the worker checks whether the
    /// backend serves other requests before it blames either).
    /// </summary>
    public sealed record BackendFault(string Error, bool Certain, TimeSpan RetryAfter, string Reason) : ItemOutcome
    {
        public override ItemFailure? Failure => new(Reason, Error);

        public override bool CallFailed => true;

        /// <summary>The same failure blamed on the item, once the backend turned out to serve other requests: it spends an attempt.</summary>
        public Failed OfTheItem() => new(Error, RetryAfter, Reason);
    }

    /// <summary>The item can't be processed as it is (not JSON, a field the prompt needs is missing, a forged envelope, ...): dead-lettered at once.</summary>
    public sealed record Malformed(string Error) : ItemOutcome
    {
        public override ItemFailure? Failure => new(FailureReasons.Malformed, Error);
    }

    /// <summary>A raw item whose id already has a result from another item: dead-lettered, so both are kept.</summary>
    /// <param name="Usage">What was spent on it: nothing when it was found before Ollama was asked.</param>
    public sealed record DuplicateId(string Error, TokenUsage Usage) : ItemOutcome
    {
        public override ItemFailure? Failure => new(FailureReasons.DuplicateId, Error);
    }

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
    public sealed record InvalidAnswer(string ItemId, string Error, string Answer, Generation Generation, TokenUsage Usage) : ItemOutcome
    {
        public override ItemFailure? Failure => new(FailureReasons.InvalidAnswer, Error);

        public override Generation? Served => Generation;
    }
}
