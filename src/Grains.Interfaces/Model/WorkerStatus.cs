namespace OrleansLlm;

/// <param name="Silo">The silo this worker runs on.</param>
/// <param name="ConcurrencyLimit">How many Ollama requests it allows in flight now.</param>
/// <param name="Buffered">Items it has leased ahead of its free slots, not started yet (lease ahead).</param>
/// <param name="OllamaWaitP99">The 99th percentile of the time its latest answers waited inside Ollama for a slot (the last minute's, at most 256).</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.WorkerStatus")]
public sealed record WorkerStatus(
    [property: Id(0)] string Silo,
    [property: Id(1)] WorkerState State,
    [property: Id(2)] int InFlight,
    [property: Id(3)] int ConcurrencyLimit,
    [property: Id(4)] long Completed,
    [property: Id(5)] long Failed,
    [property: Id(6)] long DeadLettered,
    [property: Id(7)] string OllamaUrl,
    [property: Id(8)] TimeSpan OllamaWaitP99 = default,
    [property: Id(9)] int Buffered = 0);
