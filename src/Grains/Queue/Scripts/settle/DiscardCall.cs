using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>settle/discard.lua</c>: a raw item delivered twice ends without a second result.</summary>
internal sealed record DiscardCall(string Token, string Owner, TokenUsage Usage) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("settle/discard.lua");

    public RedisValue[] Arguments() => [Token, Owner, .. UsageArguments.Of(Usage)];
}
