using OrleansLlm.Options;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>The queue's limits, which every script receives first (<c>ARGV[1..4]</c>), named in the scripts' prelude.</summary>
internal sealed record QueuePolicy(int MaxAttempts, int DeadLetterMaxPayloadBytes, int DeadLetterMaxLength, TimeSpan? ResultTtl)
{
    public static QueuePolicy From(QueueOptions options) =>
        new(options.MaxAttempts, options.DeadLetterMaxPayloadBytes, options.DeadLetterMaxLength, options.ResultTtl);

    public RedisValue[] With(params RedisValue[] scriptArguments) =>
    [
        MaxAttempts, DeadLetterMaxPayloadBytes, DeadLetterMaxLength, (long)(ResultTtl ?? TimeSpan.Zero).TotalMilliseconds,
        .. scriptArguments,
    ];
}
