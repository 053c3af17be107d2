namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// A second lane of Redis-backed tests with its own redis-server: the slow ones that mostly wait on processes,
/// timeouts and scaling rather than on the CPU. xunit runs collections in parallel (xunit.runner.json), so these
/// run beside <see cref="RedisCollection"/> and <see cref="ScalingRedisCollection"/> instead of after them, which keeps CI well under its time limit.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SlowRedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "redis (slow lane)";
}
