using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/create.lua</c>: a new batch with its spec's fields, unless it exists.</summary>
internal sealed record CreateBatchCall(string BatchId, DateTimeOffset Created, IReadOnlyList<KeyValuePair<string, string>> Fields) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/create.lua");

    public RedisValue[] Arguments() =>
        [BatchId, Created.ToUnixTimeMilliseconds(), .. Fields.SelectMany(f => (RedisValue[])[f.Key, f.Value])];
}
