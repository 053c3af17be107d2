using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/enqueue.lua</c>: a page of a batch's items, each its id and its envelope.</summary>
internal sealed record EnqueueCall(string BatchId, IReadOnlyList<(string Id, string Envelope)> Items) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/enqueue.lua");

    public RedisValue[] Arguments() => [BatchId, .. Items.SelectMany(i => (RedisValue[])[i.Id, i.Envelope])];
}
