using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/stop.lua</c>: the batch is <c>cancelled</c> or <c>expired</c> from <paramref name="At"/>.</summary>
internal sealed record StopBatchCall(string BatchId, string Why, DateTimeOffset At) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/stop.lua");

    public RedisValue[] Arguments() => [BatchId, Why, At.ToUnixTimeMilliseconds()];
}
