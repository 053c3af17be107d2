using OrleansLlm.QueueModel;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Queue;

/// <summary>
/// The queue's model-based test (tests/OrleansLlm.QueueModel): random operations of three simulated silos, producers
/// and operators against the real scripts on a real redis-server, held to a reference model with every invariant
/// checked after every step. CI runs a fixed set of seeds; a longer run is
/// <c>dotnet run -c Release --project tests/OrleansLlm.QueueModel -- --seeds 1000</c>.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class QueueModelTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task RandomOperations_OfThreeSilos_KeepEveryInvariant_AfterEveryStep()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var steps = await ModelRun.RunAsync(redis.ConnectionString, seeds: 60, steps: 80, output.WriteLine);

        output.WriteLine($"60 sequences, {steps} steps in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.InRange(steps, 2000, 60 * 80);
    }

    /// <summary>
    /// The same with answers also sent in groups (one Complete call for 1 to 6, mixed silos, stale tokens, the same
    /// answer again), each group's outcomes held to the model's for the answers sent alone one after the other.
    /// </summary>
    [Fact]
    public async Task RandomOperations_WithGroupedAnswers_KeepEveryInvariant_AfterEveryStep()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var steps = await ModelRun.RunAsync(redis.ConnectionString, seeds: 30, steps: 80, output.WriteLine, groups: true);

        output.WriteLine($"30 sequences with grouped answers, {steps} steps in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.InRange(steps, 1000, 30 * 80);
    }

    /// <summary>Seeds that once failed, kept: each found a step the model or the scripts got wrong.</summary>
    [Theory]
    [InlineData("dZZwvatzg-82", 80)] // a lease that put parked items back and leased them in the same call
    [InlineData("0000000003u1", 120)] // the model swept two expired leases of a batch in number order, the script in deadline-then-token order
    [InlineData("dzqJ8BRttRt3", 120)] // the model recovered a dead silo's leases in number order, the script in the owners hash's HSCAN order
    public async Task SeedThatOnceFailed_KeepsEveryInvariant(string seed, int steps)
    {
        Assert.Null(await ModelRun.ReplayAsync(redis.ConnectionString, seed, steps));
    }
}
