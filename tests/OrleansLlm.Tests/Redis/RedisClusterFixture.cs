namespace OrleansLlm.Tests.Redis;

/// <summary>One real three-master Redis Cluster for the tests that need one.</summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    public RedisClusterProcess Redis { get; private set; } = null!;

    public async Task InitializeAsync() => Redis = await RedisClusterProcess.StartAsync();

    public async Task DisposeAsync() => await Redis.DisposeAsync();
}
