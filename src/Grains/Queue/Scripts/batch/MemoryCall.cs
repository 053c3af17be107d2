using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/memory.lua</c>: INFO's memory section from the server that holds the queue.</summary>
internal sealed record MemoryCall : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/memory.lua");

    public RedisValue[] Arguments() => [];
}
