using Microsoft.Extensions.Options;
using OrleansLlm.Inference;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>A fixed limit: <see cref="WorkerOptions.MaxConcurrency"/>.</summary>
public sealed class FixedConcurrencyController(IOptions<WorkerOptions> options) : IConcurrencyController
{
    public int Limit { get; } = options.Value.MaxConcurrency;

    public int InFlightAllowed => Limit;

    public ConcurrencyTicket OnSent(int inFlight) => default;

    public void OnSuccess(ConcurrencyTicket ticket, Generation generation)
    {
    }

    public void OnFailure(ConcurrencyTicket ticket)
    {
    }

    public void OnAbandoned(ConcurrencyTicket ticket)
    {
    }
}
