using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>recovery/sweep.lua</c>: hands back up to <paramref name="Limit"/> leases past their deadline.</summary>
internal sealed record SweepCall(int Limit) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("recovery/sweep.lua");

    public RedisValue[] Arguments() => [Limit];
}
