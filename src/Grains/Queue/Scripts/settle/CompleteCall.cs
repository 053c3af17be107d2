using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>settle/complete.lua</c>: stores up to <see cref="MaxAnswers"/> answers in one call.</summary>
internal sealed record CompleteCall(IReadOnlyList<CompleteRequest> Answers) : IScriptCall
{
    /// <summary>The most answers one call takes (the script's <c>group_max</c>), so a call stays short.</summary>
    public const int MaxAnswers = 64;

    public static QueueScript Script { get; } = QueueScript.Load("settle/complete.lua");

    public RedisValue[] Arguments() =>
    [
        .. Answers.SelectMany(a => (RedisValue[])[a.Lease.Id, a.Owner, a.ItemId, a.Result, a.Lease.Payload, .. UsageArguments.Of(a.Usage)]),
    ];
}
