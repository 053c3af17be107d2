using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary><c>batch/results.lua</c>: a page of results after position <paramref name="After"/>.</summary>
/// <param name="Whose">A batch id, or <c>default@DAY</c> for a day of raw items' results.</param>
internal sealed record ResultsCall(string Whose, long After, int PageSize) : IScriptCall
{
    public static QueueScript Script { get; } = QueueScript.Load("batch/results.lua");

    public RedisValue[] Arguments() => [Whose, After, PageSize];
}
