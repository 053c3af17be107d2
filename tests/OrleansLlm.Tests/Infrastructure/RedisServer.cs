using OrleansLlm.Testing;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>The test run's real redis-server on a free loopback port, without persistence; tests keep apart by queue name.</summary>
public sealed class RedisServer : IRedisEndpoint, IAsyncLifetime
{
    private RedisProcess _process = null!;

    public int Port => _process.Port;

    public string ConnectionString => _process.ConnectionString;

    public IConnectionMultiplexer Connection => _process.Connection;

    public async Task InitializeAsync() => _process = await RedisProcess.StartAsync();

    public async Task DisposeAsync() => await _process.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "redis";
}
