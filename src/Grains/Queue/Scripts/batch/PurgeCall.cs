using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/purge.lua</c>: up to <paramref name="Limit"/> expired batches forgotten.</summary>
internal sealed record PurgeCall(int Limit) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/purge.lua");

    public RedisValue[] Arguments() => [Limit];
}
