namespace OrleansLlm.Dashboard;

/// <summary>
/// A worker's status as the Orleans Dashboard prints it. The dashboard serializes with System.Text.Json's defaults,
/// which would print <see cref="WorkerState"/> as a number, so the state is spelled out here.
/// </summary>
/// <param name="State"><c>active</c>, <c>draining</c> or <c>drained</c>.</param>
/// <param name="InFlight">Ollama requests in flight now.</param>
/// <param name="ConcurrencyLimit">How many Ollama requests the worker allows in flight now.</param>
/// <param name="Buffered">Items leased ahead of the free slots, not started yet.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.WorkerDashboardState")]
public sealed record WorkerDashboardState(
    [property: Id(0)] string State,
    [property: Id(1)] int InFlight,
    [property: Id(2)] int ConcurrencyLimit,
    [property: Id(3)] long Completed,
    [property: Id(4)] long Failed,
    [property: Id(5)] long DeadLettered,
    [property: Id(6)] string Silo,
    [property: Id(7)] string OllamaUrl,
    [property: Id(8)] int Buffered)
{
    public static WorkerDashboardState From(WorkerStatus status) => new(
        status.State.ToString().ToLowerInvariant(),
        status.InFlight,
        status.ConcurrencyLimit,
        status.Completed,
        status.Failed,
        status.DeadLettered,
        status.Silo,
        status.OllamaUrl,
        status.Buffered);
}
