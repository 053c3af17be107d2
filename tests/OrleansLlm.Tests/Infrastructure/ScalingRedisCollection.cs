namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// The scaling tests' own lane and redis-server: at about two minutes they are the longest class, so they run beside
/// <see cref="SlowRedisCollection"/> and <see cref="RedisCollection"/> rather than inside either.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ScalingRedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "redis (scaling lane)";
}
