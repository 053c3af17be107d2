using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>The clock the queue's scripts read for lease deadlines, retry times and when batches end.</summary>
public sealed class QueueClock
{
    private readonly TimeProvider? _time;

    private QueueClock(TimeProvider? time) => _time = time;

    /// <summary>Redis' own clock (<c>TIME</c>), so silos with skewed clocks agree on every deadline.</summary>
    public static QueueClock Redis { get; } = new(null);

    /// <summary>A clock the caller moves, read instead of Redis' (model-based tests move time step by step).</summary>
    public static QueueClock From(TimeProvider time) => new(time);

    internal RedisValue Argument() => _time is null ? RedisValue.EmptyString : _time.GetUtcNow().ToUnixTimeMilliseconds();
}
