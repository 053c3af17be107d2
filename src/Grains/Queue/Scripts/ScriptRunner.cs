using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary>
/// Runs the scripts of one queue: the queue's name is <c>KEYS[1]</c> (every other key derives from it), the queue's
/// policy <c>ARGV[1..6]</c> (named at the top of <c>include/common.lua</c>), then the call's own arguments.
/// </summary>
internal sealed class ScriptRunner(Func<IDatabaseAsync> database, QueueKeys keys, QueuePolicy policy)
{
    private readonly RedisKey[] _keys = [keys.Name];

    public Task<RedisResult> RunAsync<T>(T call) where T : IScriptCall =>
        T.Script.EvaluateAsync(database(), _keys, [.. policy.Arguments(), .. call.Arguments()]);
}
