using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// Decides how many Ollama requests a worker keeps in flight. The worker asks <see cref="Limit"/> before each
/// lease and reports every outcome, so an adaptive controller can replace the fixed one without touching it.
/// </summary>
public interface IConcurrencyController
{
    int Limit { get; }

    void OnSuccess(Generation generation, TimeSpan latency);

    void OnFailure();
}

/// <summary>A fixed limit: <see cref="WorkerOptions.MaxConcurrency"/>.</summary>
public sealed class FixedConcurrencyController(IOptions<WorkerOptions> options) : IConcurrencyController
{
    public int Limit { get; } = options.Value.MaxConcurrency;

    public void OnSuccess(Generation generation, TimeSpan latency)
    {
    }

    public void OnFailure()
    {
    }
}
