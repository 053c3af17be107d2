using System.Globalization;
using StackExchange.Redis;

namespace OrleansLlm.Testing;

/// <summary>
/// What one Redis master has done since it started, from <c>INFO commandstats</c> and <c>INFO cpu</c>; two readings
/// subtracted give what a run cost it.
/// </summary>
/// <param name="Commands">Every command executed, those run inside scripts included, but for the harness's own <c>INFO</c>.</param>
/// <param name="Scripts">EVALSHA and EVAL calls: the round trips that move items through the queue.</param>
/// <param name="CpuSeconds"><c>used_cpu_user + used_cpu_sys</c>: the server's own CPU time.</param>
public sealed record RedisCounters(string Endpoint, long Commands, long Scripts, double CpuSeconds)
{
    /// <summary>Every master the connection knows: the one server, or each master of a cluster.</summary>
    public static async Task<IReadOnlyList<RedisCounters>> ReadAsync(IConnectionMultiplexer connection)
    {
        var masters = connection.GetServers().Where(s => s.IsConnected && !s.IsReplica).OrderBy(s => s.EndPoint.ToString(), StringComparer.Ordinal);
        var readings = new List<RedisCounters>();
        foreach (var server in masters)
        {
            readings.Add(await ReadAsync(server));
        }

        return readings;
    }

    public static RedisCounters operator -(RedisCounters after, RedisCounters before) =>
        new(after.Endpoint, after.Commands - before.Commands, after.Scripts - before.Scripts, after.CpuSeconds - before.CpuSeconds);

    /// <summary>One server's counters.</summary>
    public static async Task<RedisCounters> ReadAsync(IServer server)
    {
        long scripts = 0, commands = 0;
        foreach (var (name, value) in (await server.InfoAsync("commandstats")).SelectMany(g => g))
        {
            // "calls=12,usec=34,...": the harness's INFO calls are its own, not the system's.
            var calls = long.Parse(value.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture);
            commands += name == "cmdstat_info" ? 0 : calls;
            scripts += name is "cmdstat_evalsha" or "cmdstat_eval" or "cmdstat_evalsha_ro" or "cmdstat_eval_ro" ? calls : 0;
        }

        var cpu = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
        var seconds = double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture);
        return new RedisCounters(server.EndPoint.ToString()!, commands, scripts, seconds);
    }
}
