using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>settle/complete.lua</c>: stores an answer.</summary>
/// <param name="Payload">The item as it was leased.</param>
internal sealed record CompleteCall(string Token, string Owner, string ItemId, string Result, string Payload, TokenUsage Usage) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("settle/complete.lua");

    public RedisValue[] Arguments() => [Token, Owner, ItemId, Result, Payload, .. UsageArguments.Of(Usage)];
}
