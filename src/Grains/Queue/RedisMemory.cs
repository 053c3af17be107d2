using System.Globalization;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue.Scripts;
using OrleansLlm.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// How full Redis is against its <c>maxmemory</c>, read at most once a second. Batches take no new items above
/// <see cref="QueueOptions.HighWaterMark"/>, so the running ones keep room to finish: with <c>noeviction</c> a full
/// Redis refuses every write, results, leases and Orleans membership alike, and the cluster stops.
/// </summary>
public sealed class RedisMemory(RedisConnection redis, IOptions<QueueOptions> options, QueueClock clock, TimeProvider time)
{
    private readonly ScriptRunner _scripts = new(() => redis.Database, new QueueKeys(options.Value.Name), QueuePolicy.From(options.Value, clock));

    private static readonly TimeSpan ReadEvery = TimeSpan.FromSeconds(1);

    private (DateTimeOffset At, double? Share) _last = (DateTimeOffset.MinValue, null);

    /// <summary>Why new items are refused now (<c>queue full: Redis at 83% of maxmemory</c>), or null when there is room.</summary>
    public async Task<string?> RefusalAsync(CancellationToken cancellationToken)
    {
        var share = await ShareAsync(cancellationToken).ConfigureAwait(false);
        var mark = options.Value.HighWaterMark;
        return share >= mark
            ? string.Create(CultureInfo.InvariantCulture, $"queue full: Redis at {share * 100:0}% of maxmemory (new items are refused from {mark * 100:0}%, so running batches can finish)")
            : null;
    }

    /// <summary>used_memory / maxmemory of the server that holds the queue; null when it has no maxmemory.</summary>
    public async Task<double?> ShareAsync(CancellationToken cancellationToken)
    {
        var last = _last;
        if (time.GetUtcNow() - last.At < ReadEvery)
        {
            return last.Share;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var info = ((string)(await _scripts.RunAsync(new MemoryCall()).ConfigureAwait(false))!)
            .Split('\n', StringSplitOptions.TrimEntries)
            .Select(line => line.Split(':', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        long Read(string name) => info.TryGetValue(name, out var v) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        var max = Read("maxmemory");
        double? share = max > 0 ? (double)Read("used_memory") / max : null;
        _last = (time.GetUtcNow(), share);
        return share;
    }
}
