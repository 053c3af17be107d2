using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/delete.lua</c>: the batch and all it holds go, at once or when its last item in flight ends.</summary>
internal sealed record DeleteBatchCall(string BatchId, DateTimeOffset At) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/delete.lua");

    public RedisValue[] Arguments() => [BatchId, At.ToUnixTimeMilliseconds()];
}
