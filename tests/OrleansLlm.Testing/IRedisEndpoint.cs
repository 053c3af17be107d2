using StackExchange.Redis;

namespace OrleansLlm.Testing;

/// <summary>A real Redis a test runs against: a single server or a cluster.</summary>
public interface IRedisEndpoint
{
    /// <summary>What silos and clients are given.</summary>
    string ConnectionString { get; }

    /// <summary>An admin connection for the test itself.</summary>
    IConnectionMultiplexer Connection { get; }
}
