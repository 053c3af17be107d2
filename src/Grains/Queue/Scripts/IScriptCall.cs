using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary>One call of a queue script: which script, and its own arguments, which it reads from <c>ARGV[7]</c> on.</summary>
internal interface IScriptCall
{
    static abstract QueueScript Script { get; }

    RedisValue[] Arguments();
}
