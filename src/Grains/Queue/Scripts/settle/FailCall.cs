using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>settle/fail.lua</c>: a leased item's call failed.</summary>
/// <param name="BackendsFault">The owner's backend failed, not (surely) the item.</param>
internal sealed record FailCall(string Token, string Owner, string Error, TimeSpan RetryAfter, bool BackendsFault) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("settle/fail.lua");

    public RedisValue[] Arguments() => [Token, Owner, Error, (long)RetryAfter.TotalMilliseconds, BackendsFault ? "backend" : "item"];
}
