using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/remove_queued.lua</c>: a page of a stopped batch's queued items, as ZSCAN found them.</summary>
internal sealed record RemoveQueuedCall(string BatchId, IReadOnlyList<RedisValue> Items) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/remove_queued.lua");

    public RedisValue[] Arguments() => [BatchId, .. Items];
}
