using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/seal.lua</c>: the batch's submission is complete.</summary>
internal sealed record SealCall(string BatchId) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/seal.lua");

    public RedisValue[] Arguments() => [BatchId];
}
