namespace OrleansLlm.Worker;

/// <summary>
/// The calls the worker has in flight to its silo's Ollama, and how many more it may send now: as many as the
/// concurrency controller allows, and none while the breaker says the backend is broken. Each call ends here too:
/// <see cref="JudgeAsync"/> tells the controller and the breaker what came of it.
/// </summary>
/// <remarks>Not thread-safe: it belongs to the worker grain, which runs one turn at a time.</remarks>
public sealed class CallSlots(IConcurrencyController concurrency, BackendBreaker breaker, TimeProvider time)
{
    private readonly HashSet<string> _calling = new(StringComparer.Ordinal);
    private TaskCompletionSource _freed = NewSignal();

    /// <summary>The controller's current limit.</summary>
    public int Limit => concurrency.Limit;

    public int InFlight => _calling.Count;

    /// <summary>How many more calls may go out now, not waiting: none while the breaker is open.</summary>
    public int Available => breaker.IsOpen ? 0 : Math.Max(0, concurrency.InFlightAllowed - _calling.Count);

    /// <summary>Whether the backend counts as broken (its breaker is open): nothing is sent to it.</summary>
    public bool BackendBroken => breaker.IsOpen;

    /// <summary>
    /// How many calls may go out now, waiting first while the backend is broken (its breaker probes it) or while
    /// every slot is taken (at most <paramref name="maxWait"/>, so a missed signal or a lowered limit can never park
    /// the caller for good). Zero means: ask again.
    /// </summary>
    public async Task<int> WaitForFreeAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        try
        {
            if (breaker.IsOpen)
            {
                // Ollama is broken: send nothing it can't serve, so the healthy silos get the work.
                await breaker.WaitUntilClosedAsync(cancellationToken);
                return 0;
            }

            var free = concurrency.InFlightAllowed - _calling.Count;
            if (free > 0)
            {
                return free;
            }

            await _freed.Task.WaitAsync(maxWait, time, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        return 0;
    }

    public OllamaCall Take(string leaseId)
    {
        var call = new OllamaCall(leaseId, concurrency.OnSent(_calling.Count), time.GetUtcNow());
        _calling.Add(leaseId);
        return call;
    }

    /// <summary>Ollama is done with the call: its slot goes to the next item. Idempotent.</summary>
    public void Free(OllamaCall call)
    {
        if (_calling.Remove(call.LeaseId))
        {
            var freed = _freed;
            _freed = NewSignal();
            freed.TrySetResult();
        }
    }

    /// <summary>
    /// Tells the concurrency controller and the breaker what came of a call, and decides whose fault a backend
    /// failure was: one that may be the item's is blamed on it when the backend serves other requests (the item
    /// spends an attempt); otherwise the breaker opens (the item goes back for another silo, no attempt spent).
    /// </summary>
    /// <returns>The outcome to record: <paramref name="outcome"/>, or the item's own failure.</returns>
    /// <exception cref="OperationCanceledException">A drain cut the breaker's probe short; nothing was told to anyone.</exception>
    public async Task<ItemOutcome> JudgeAsync(OllamaCall call, ItemOutcome outcome, CancellationToken cancellationToken)
    {
        if (outcome.Served is { } generation)
        {
            // Ollama served it, even an answer in the wrong format: neither the backend nor the limit is to blame.
            breaker.OnSuccess();
            concurrency.OnSuccess(call.Ticket, generation);
            return outcome;
        }

        if (!outcome.CallFailed)
        {
            // Ollama was never asked (a malformed item, a repeated id).
            concurrency.OnAbandoned(call.Ticket);
            return outcome;
        }

        if (outcome is ItemOutcome.BackendFault fault && await breaker.IsTheItemsFaultAsync(fault, call.SentAt, cancellationToken))
        {
            outcome = fault.OfTheItem();
        }

        concurrency.OnFailure(call.Ticket);
        return outcome;
    }

    /// <summary>The call ended without an outcome (a drain cut it short, or Redis could not record it).</summary>
    public void Abandon(OllamaCall call) => concurrency.OnAbandoned(call.Ticket);

    // Continuations run asynchronously (queued to the grain's scheduler), never inline inside whoever frees a slot.
    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
