namespace OrleansLlm.Benchmarks.Designs;

/// <summary>
/// Designs A and B: consumers with fixed parallelism behind one random load balancer, like a Kubernetes Service in
/// kube-proxy's iptables mode. Each request picks a backend uniformly at random. (kube-proxy really picks per
/// connection; with keep-alive that is stickier and no better balanced, so per request is the kinder model.)
/// </summary>
/// <param name="singleConsumer">A: one consumer with parallelism P. B: one consumer per backend, each with P_B.</param>
public sealed class RandomBalancerConsumers(string id, bool singleConsumer) : IDesign
{
    public string Id => id;

    public string Describe(Scenario scenario, BenchmarkOptions options)
    {
        var k = scenario.Backends.Count;
        return singleConsumer
            ? $"1 consumer × parallelism {options.AParallelismFor(k)} → random balancer → {k} backends"
            : $"{k} consumers × parallelism {options.BPerConsumerOrDefault} → random balancer → {k} backends";
    }

    public Task<IAsyncDisposable> StartAsync(DesignContext context, CancellationToken cancellationToken)
    {
        var k = context.Backends.Count;
        var options = context.Options;
        FixedParallelismConsumer[] consumers = singleConsumer
            ? [new FixedParallelismConsumer($"{id}0", context, context.Backends, options.AParallelismFor(k), options.Seed, cancellationToken)]
            : Enumerable.Range(0, k).Select(i => new FixedParallelismConsumer(
                $"{id}{i}", context, context.Backends, options.BPerConsumerOrDefault, options.Seed + i, cancellationToken)).ToArray();
        return Task.FromResult<IAsyncDisposable>(new ConsumerGroup(consumers));
    }
}

/// <summary>Stops a set of consumers together.</summary>
public sealed class ConsumerGroup(IReadOnlyList<FixedParallelismConsumer> consumers) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await Task.WhenAll(consumers.Select(c => c.DisposeAsync().AsTask()));
}
