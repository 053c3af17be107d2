using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/list.lua</c>: up to <paramref name="Limit"/> batches, newest first, after <paramref name="After"/> (null: from the newest).</summary>
internal sealed record ListBatchesCall(string? After, int Limit) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/list.lua");

    public RedisValue[] Arguments() => [After ?? string.Empty, Limit];
}
