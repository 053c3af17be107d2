using System.Diagnostics;
using StackExchange.Redis;

namespace OrleansLlm.Testing;

/// <summary>
/// A real Redis Cluster of three masters on loopback: three <c>redis-server --cluster-enabled yes</c>, joined with
/// <c>redis-cli --cluster create</c>. StackExchange.Redis follows the slots itself, given any of the nodes.
/// </summary>
public sealed class RedisClusterProcess : IRedisEndpoint, IAsyncDisposable
{
    private readonly IReadOnlyList<RedisProcess> _nodes;

    private RedisClusterProcess(IReadOnlyList<RedisProcess> nodes, IConnectionMultiplexer connection)
    {
        _nodes = nodes;
        Connection = connection;
    }

    /// <summary>Every node, as silos and clients are given it.</summary>
    public string ConnectionString => string.Join(",", _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <summary>An admin connection to the whole cluster.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>
    /// A hash-tagged queue name (<c>{PREFIX-N}</c>) whose <paramref name="shards"/> partitions each hash to a slot of
    /// another master (as many masters as there are), so a queue spread over the masters is possible at all: a random
    /// name puts 3 partitions on 3 masters 2 times in 9.
    /// </summary>
    /// <param name="partitionName">Names partition p of n of a queue: <c>QueueShards.NameOf</c>.</param>
    public string QueueNameOverMasters(string prefix, int shards, Func<string, int, int, string> partitionName)
    {
        var slots = Connection.GetServers().First(s => s.IsConnected && s.ServerType == ServerType.Cluster).ClusterConfiguration
            ?? throw new InvalidOperationException("the Redis Cluster gave no slot map");
        var wanted = Math.Min(shards, slots.Nodes.Count(n => !n.IsReplica));
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var name = "{" + prefix + "-" + attempt.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}";
            var masters = Enumerable.Range(0, shards)
                .Select(p => slots.GetBySlot(Connection.HashSlot(partitionName(name, p, shards)))?.EndPoint?.ToString())
                .Distinct().Count();
            if (masters == wanted)
            {
                return name;
            }
        }

        throw new InvalidOperationException($"no queue name of {shards} partitions on as many masters in 1,000 tries");
    }

    public static async Task<RedisClusterProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var nodes = new List<RedisProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(await RedisProcess.StartAsync(new RedisProcessOptions { ClusterNode = true }, cancellationToken));
            }

            await CreateClusterAsync(nodes, cancellationToken);
            var connectionString = string.Join(",", nodes.Select(n => $"127.0.0.1:{n.Port}"));
            IConnectionMultiplexer? connection = null;
            await Eventually.TrueAsync(async () =>
            {
                // Every node must agree that all 16384 slots are served before keys can go anywhere.
                foreach (var node in nodes)
                {
                    var info = (string?)await node.Connection.GetServer("127.0.0.1", node.Port).ExecuteAsync("CLUSTER", "INFO");
                    if (info is null || !info.Contains("cluster_state:ok", StringComparison.Ordinal))
                    {
                        return false;
                    }
                }

                connection ??= await ConnectionMultiplexer.ConnectAsync($"{connectionString},allowAdmin=true,abortConnect=false");
                return connection.GetServers().Count(s => s.IsConnected && s.ServerType == ServerType.Cluster) == 3;
            }, "the three Redis nodes to form a cluster with every slot served", TimeSpan.FromSeconds(30));
            return new RedisClusterProcess(nodes, connection!);
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private static async Task CreateClusterAsync(IReadOnlyList<RedisProcess> nodes, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (IEnumerable<string>)["--cluster", "create", .. nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "0", "--cluster-yes"])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({process.ExitCode}): {await stdout} {await stderr}");
        }
    }
}
