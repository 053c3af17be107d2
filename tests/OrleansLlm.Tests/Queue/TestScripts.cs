using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Queue.Scripts;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>Runs the queue's test-only scripts (<c>Scripts/test/</c>): the Lua helpers' twins, read straight from Redis.</summary>
internal static class TestScripts
{
    /// <summary>What <c>envelope_of</c> reads from each payload: its batch and number, or nulls.</summary>
    public static async Task<(string? Batch, string? Number)[]> EnvelopeOfAsync(IDatabaseAsync db, params string[] payloads)
    {
        var r = (RedisResult[])(await Runner(db).RunAsync(new EnvelopeOfCall(payloads)))!;
        return Enumerable.Range(0, r.Length / 2)
            .Select(i => ((string?)r[2 * i] is { Length: > 0 } b ? b : null, (string?)r[(2 * i) + 1] is { Length: > 0 } n ? n : null))
            .ToArray();
    }

    /// <summary>Every key name the scripts use for this queue, batch, model and token.</summary>
    public static async Task<Dictionary<string, string>> NamesAsync(IDatabaseAsync db, string queue, string batch, string model)
    {
        var r = (RedisResult[])(await Runner(db, queue).RunAsync(new NamesCall(batch, model)))!;
        return Enumerable.Range(0, r.Length / 2).ToDictionary(i => (string)r[2 * i]!, i => (string)r[(2 * i) + 1]!);
    }

    private static ScriptRunner Runner(IDatabaseAsync db, string queue = "test-scripts") =>
        new(() => db, new QueueKeys(queue), QueuePolicy.From(new QueueOptions { Name = queue }, QueueClock.Redis));

    private sealed record EnvelopeOfCall(IReadOnlyList<string> Payloads) : IScriptCall
    {
        public static QueueScript Script { get; } = QueueScript.Load("test/envelope_of.lua");

        public RedisValue[] Arguments() => [.. Payloads.Select(p => (RedisValue)p)];
    }

    private sealed record NamesCall(string Batch, string Model) : IScriptCall
    {
        public static QueueScript Script { get; } = QueueScript.Load("test/names.lua");

        public RedisValue[] Arguments() => [Batch, Model];
    }
}
