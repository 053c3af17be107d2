using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>recovery/recover.lua</c>: hands back leases held by silos known to be dead.</summary>
internal sealed record RecoverCall(string Reason, IReadOnlyList<(string Token, string Owner)> Leases) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("recovery/recover.lua");

    public RedisValue[] Arguments() => [Reason, .. Leases.SelectMany(l => (RedisValue[])[l.Token, l.Owner])];
}
