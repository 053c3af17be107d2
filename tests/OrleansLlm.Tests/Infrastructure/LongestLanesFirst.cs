using OrleansLlm.Tests.Resilience;
using Xunit.Abstractions;

[assembly: TestCollectionOrderer("OrleansLlm.Tests.Infrastructure.LongestLanesFirst", "OrleansLlm.Tests")]

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// Starts the long collections first. xunit runs as many collections at once as it has threads
/// (xunit.runner.json), taking them in this order, and every test class outside a named collection is a collection
/// of its own. Left to the default order, the slow lane started only after four minutes of short classes and ran
/// alone at the end; started first, the long ones run side by side and the short classes fill the gaps.
/// </summary>
public sealed class LongestLanesFirst : ITestCollectionOrderer
{
    // Named collections by name; the long classes outside them by the name xunit gives their own collection.
    private static readonly string[] Longest =
    [
        ScalingRedisCollection.Name,
        SlowRedisCollection.Name,
        RedisCollection.Name,
        Cli.CliClusterCollection.Name,
        $"Test collection for {typeof(RedisFaultTests).FullName}",
        $"Test collection for {typeof(Redis.RedisConnectionTests).FullName}",
    ];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections
            .OrderBy(c => Array.IndexOf(Longest, c.DisplayName) is var i and >= 0 ? i : Longest.Length)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
