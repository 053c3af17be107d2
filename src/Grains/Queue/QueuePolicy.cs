using OrleansLlm.Options;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// The queue's limits and clock, which every script receives first (<c>ARGV[1..6]</c>), named at the top of
/// <c>Scripts/include/common.lua</c>.
/// </summary>
/// <param name="SettleMemory">
/// How long a settled lease's outcome is remembered, so a settle sent again after a timeout returns it: the worker
/// sends again for at most one lease duration, so twice that.
/// </param>
internal sealed record QueuePolicy(
    int MaxAttempts, int DeadLetterMaxPayloadBytes, int DeadLetterMaxLength, TimeSpan ResultTtl, TimeSpan SettleMemory, QueueClock Clock)
{
    public static QueuePolicy From(QueueOptions options, QueueClock clock) =>
        new(options.MaxAttempts, options.DeadLetterMaxPayloadBytes, options.DeadLetterMaxLength, options.ResultTtl, options.LeaseDuration * 2, clock);

    public RedisValue[] Arguments() =>
    [
        MaxAttempts, DeadLetterMaxPayloadBytes, DeadLetterMaxLength, (long)ResultTtl.TotalMilliseconds, (long)SettleMemory.TotalMilliseconds,
        Clock.Argument(),
    ];
}
