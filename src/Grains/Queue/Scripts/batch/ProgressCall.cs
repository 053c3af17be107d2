using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/progress.lua</c>: a snapshot of one batch, as name/value pairs.</summary>
internal sealed record ProgressCall(string BatchId) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/progress.lua");

    public RedisValue[] Arguments() => [BatchId];
}
