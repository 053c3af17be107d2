using OrleansLlm.Inference;

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
