using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>lease/lease.lua</c>: up to <paramref name="Max"/> items for <paramref name="Owner"/>.</summary>
/// <param name="Served">The model keys the silo serves, or null: it serves every model.</param>
/// <param name="ServedHold">How long the silo's word that it serves them holds.</param>
internal sealed record LeaseCall(int Max, TimeSpan LeaseDuration, string Owner, IReadOnlyCollection<string>? Served, TimeSpan ServedHold) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("lease/lease.lua");

    public RedisValue[] Arguments() => Served is null
        ? [Max, (long)LeaseDuration.TotalMilliseconds, Owner]
        : [Max, (long)LeaseDuration.TotalMilliseconds, Owner, (long)ServedHold.TotalMilliseconds, .. Served.Select(m => (RedisValue)m)];
}
