using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// Decides how many Ollama requests a worker keeps in flight. The worker asks <see cref="InFlightAllowed"/> before
/// each lease, takes a ticket for every request it sends, and hands the ticket back with the outcome, so an
/// adaptive controller can tell which requests were sent under which limit.
/// </summary>
public interface IConcurrencyController
{
    /// <summary>The limit in force: what the worker reports and the cluster view shows.</summary>
    int Limit { get; }

    /// <summary>How many requests may be in flight right now: <see cref="Limit"/>, or more while probing for room.</summary>
    int InFlightAllowed { get; }

    /// <summary>A request is about to go to Ollama, with <paramref name="inFlight"/> others already there.</summary>
    ConcurrencyTicket OnSent(int inFlight);

    void OnSuccess(ConcurrencyTicket ticket, Generation generation);

    /// <summary>An error or a timeout: Ollama could not serve the request.</summary>
    void OnFailure(ConcurrencyTicket ticket);

    /// <summary>The request never got an answer, through no fault of Ollama (a malformed item, a drain).</summary>
    void OnAbandoned(ConcurrencyTicket ticket);
}

/// <param name="Epoch">Which limit the request was sent under; any change of limit starts a new epoch.</param>
/// <param name="Probe">A request sent beyond the limit to see whether Ollama has a free slot.</param>
/// <param name="Round">The probe round the request was sent in, or 0.</param>
public readonly record struct ConcurrencyTicket(long Epoch, bool Probe, long Round = 0);

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
