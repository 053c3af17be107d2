namespace OrleansLlm.Benchmarks.Designs;

/// <summary>
/// Design C, the workshop's final design: one consumer beside each backend (same pod), talking only to it over
/// localhost, with a fixed parallelism. Balancing comes from each consumer pulling only as fast as it finishes.
/// </summary>
public sealed class CoLocatedConsumers : IDesign
{
    public string Id => "C";

    public string Describe(Scenario scenario, BenchmarkOptions options) =>
        scenario.Backends.Any(b => b.OpenAi)
            ? $"{scenario.Backends.Count} co-located consumers, consumer i → backend i, parallelism {string.Join(" · ", scenario.Backends.Select(options.PerConsumerFor))}"
            : $"{scenario.Backends.Count} co-located consumers × parallelism {options.PerConsumer}, consumer i → backend i";

    public Task<IAsyncDisposable> StartAsync(DesignContext context, CancellationToken cancellationToken)
    {
        var consumers = context.Backends.Select((url, i) => new FixedParallelismConsumer(
            $"C{i}", context, [url], context.Options.PerConsumerFor(context.Specs[i]), context.Options.Seed + i, cancellationToken)).ToArray();
        return Task.FromResult<IAsyncDisposable>(new ConsumerGroup(consumers));
    }
}
