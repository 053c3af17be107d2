using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>recovery/release.lua</c>: hands an owner's unfinished leases back, in their order.</summary>
internal sealed record ReleaseCall(string Owner, IReadOnlyCollection<string> Tokens) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("recovery/release.lua");

    public RedisValue[] Arguments() => [Owner, .. Tokens.Select(t => (RedisValue)t)];
}
