using OrleansLlm.Benchmarks.Infrastructure;
using OrleansLlm.Queue;

namespace OrleansLlm.Benchmarks.Designs;

/// <summary>What a design needs to start consuming one run's queue.</summary>
/// <param name="Backends">Backend i's URL; the run's simulators, index-aligned with the scenario's backends.</param>
/// <param name="Recorder">Every generate call must go through an HttpClient with its handler.</param>
/// <param name="CallTimeout">Per Ollama call; the run's own deadline, so a call never outlives the run.</param>
/// <param name="Specs">Backend i's spec: whether it speaks Ollama's API or the OpenAI-compatible one.</param>
public sealed record DesignContext(
    RedisProcess Redis,
    QueueKeys Keys,
    IReadOnlyList<Uri> Backends,
    CallRecorder Recorder,
    BenchmarkOptions Options,
    TimeSpan CallTimeout,
    IReadOnlyList<BackendSpec> Specs)
{
    /// <summary>Whether the backend at <paramref name="url"/> speaks the OpenAI-compatible API.</summary>
    public bool IsOpenAi(Uri url) => SpecOf(url)?.OpenAi == true;

    /// <summary>The spec of the backend at <paramref name="url"/>; null for a URL that is none of the run's.</summary>
    public BackendSpec? SpecOf(Uri url) => Backends.ToList().IndexOf(url) is var i and >= 0 && i < Specs.Count ? Specs[i] : null;
}

/// <summary>
/// One way of feeding the backends from the Redis list <see cref="DesignContext.Keys"/>.Ready. Started before the
/// items are pushed (so start-up is not timed), it writes one result per item to
/// the raw results (<see cref="Infrastructure.RawResults"/>) with <c>meta.completed_at</c>, and stops consuming when disposed.
/// </summary>
public interface IDesign
{
    string Id { get; }

    /// <summary>One line for the report, with the parallelism actually used in this scenario.</summary>
    string Describe(Scenario scenario, BenchmarkOptions options);

    Task<IAsyncDisposable> StartAsync(DesignContext context, CancellationToken cancellationToken);
}

public static class DesignCatalog
{
    public static readonly IReadOnlyList<string> Ids = ["A", "B", "C", "D"];

    public static IDesign Create(string id) => id switch
    {
        "A" => new RandomBalancerConsumers("A", singleConsumer: true),
        "B" => new RandomBalancerConsumers("B", singleConsumer: false),
        "C" => new CoLocatedConsumers(),
        "D" => new OrleansDesign(),
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "expected A, B, C or D"),
    };
}

/// <summary>Implemented by a running design that can say how it behaved, for the report (D: its concurrency limits).</summary>
public interface IDesignTrace
{
    /// <summary>Each backend's concurrency limit once a second, in backend order, or null when there is nothing to tell.</summary>
    IReadOnlyList<IReadOnlyList<int>>? Limits();
}
