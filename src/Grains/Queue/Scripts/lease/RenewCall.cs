using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>lease/renew.lua</c>: pushes back the deadlines of the leases <paramref name="Owner"/> still holds.</summary>
internal sealed record RenewCall(TimeSpan LeaseDuration, string Owner, IReadOnlyCollection<string> Tokens) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("lease/renew.lua");

    public RedisValue[] Arguments() => [(long)LeaseDuration.TotalMilliseconds, Owner, .. Tokens.Select(t => (RedisValue)t)];
}
