using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/retry_dead.lua</c>: a page of the batch's dead letters back in the queue.</summary>
internal sealed record RetryDeadCall(string BatchId, long First, int Count, DateTimeOffset At) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/retry_dead.lua");

    public RedisValue[] Arguments() => [BatchId, First, Count, At.ToUnixTimeMilliseconds()];
}
