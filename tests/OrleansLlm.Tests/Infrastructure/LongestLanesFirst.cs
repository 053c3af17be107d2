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
    // Longest first, as measured in CI (8 m 15 s run of 2026-12-07: 1,078 test-seconds over three lanes), so the three
    // lanes end together: named collections by name, the long classes outside them by the name xunit gives their own
    // collection. A collection left off comes after these, by name; the API's ("api") came last that way, and ran
    // alone at the end with the other long ones left off. The seconds are the collection's tests, without fixtures.
    private static readonly string[] Longest =
    [
        RedisCollection.Name, // 311 s
        SlowRedisCollection.Name, // 260 s
        Cli.CliClusterCollection.Name, // 188 s
        ScalingRedisCollection.Name, // 92 s
        $"Test collection for {typeof(Redis.RedisConnectionTests).FullName}", // 44 s
        $"Test collection for {typeof(RedisFaultTests).FullName}", // 40 s
        Api.ApiCollection.Name, // 26 s, and 12 s to start its two silo processes
        $"Test collection for {typeof(Security.RedisUsersTests).FullName}", // 32 s
        $"Test collection for {typeof(Webhooks.WebhookSiloProcessTests).FullName}", // 17 s
        $"Test collection for {typeof(Observability.LogTests).FullName}", // 13 s
    ];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections
            .OrderBy(c => Array.IndexOf(Longest, c.DisplayName) is var i and >= 0 ? i : Longest.Length)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
