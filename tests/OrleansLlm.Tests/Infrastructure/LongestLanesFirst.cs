using Xunit.Abstractions;

[assembly: TestCollectionOrderer("OrleansLlm.Tests.Infrastructure.LongestLanesFirst", "OrleansLlm.Tests")]

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// Starts the two long Redis lanes first. xunit runs as many collections at once as it has threads
/// (xunit.runner.json), taking them in this order, and every test class outside a named collection is a short
/// collection of its own. Left to the default order, the slow lane started only after four minutes of short
/// classes and ran alone at the end; started first, both lanes run side by side and the short classes fill the gaps.
/// </summary>
public sealed class LongestLanesFirst : ITestCollectionOrderer
{
    private static readonly string[] Lanes = [SlowRedisCollection.Name, RedisCollection.Name, Cli.CliClusterCollection.Name];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections
            .OrderBy(c => Array.IndexOf(Lanes, c.DisplayName) is var i and >= 0 ? i : Lanes.Length)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
