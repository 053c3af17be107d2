using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>settle/dead_letter.lua</c>: a leased item straight to its batch's dead letters.</summary>
/// <param name="Answer">The model's answer, when it is why the item is dead-lettered.</param>
internal sealed record DeadLetterCall(string Token, string Owner, string Reason, string? Error, string? Answer, TokenUsage Usage) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("settle/dead_letter.lua");

    public RedisValue[] Arguments() => [Token, Owner, Reason, Error ?? string.Empty, Answer ?? string.Empty, .. UsageArguments.Of(Usage)];
}
