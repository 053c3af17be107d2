using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>
/// The raw items' results as the silos store them: a hash per day (<see cref="QueueKeys.RawResults"/>), the days listed
/// in <see cref="QueueKeys.RawDays"/>. Designs A, B and C store theirs the same way, so every design is read alike.
/// </summary>
public static class RawResults
{
    private const long DayMs = 86_400_000;

    // The first result for an id wins; a second counts as a duplicate, as in the silos' scripts.
    private const string AddScript = """
        if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
          redis.call('HINCRBY', KEYS[3], 'duplicates', 1)
          return 0
        end
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[3])
        return 1
        """;

    public static async Task AddAsync(IDatabaseAsync db, QueueKeys keys, string id, string result)
    {
        var day = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / DayMs;
        await db.ScriptEvaluateAsync(AddScript, [keys.RawResults(day), keys.RawDays, keys.Stats], [id, result, day]);
    }

    public static async Task<long> CountAsync(IDatabaseAsync db, QueueKeys keys)
    {
        var count = 0L;
        foreach (var day in await db.SortedSetRangeByRankAsync(keys.RawDays))
        {
            count += await db.HashLengthAsync(keys.RawResults((long)day));
        }

        return count;
    }

    public static async Task<List<HashEntry>> AllAsync(IDatabaseAsync db, QueueKeys keys)
    {
        var all = new List<HashEntry>();
        foreach (var day in await db.SortedSetRangeByRankAsync(keys.RawDays))
        {
            all.AddRange(await db.HashGetAllAsync(keys.RawResults((long)day)));
        }

        return all;
    }

    /// <summary>Results written twice for one id, by the silos' scripts or a design's consumers.</summary>
    public static async Task<long> DuplicatesAsync(IDatabaseAsync db, QueueKeys keys) => (long?)await db.HashGetAsync(keys.Stats, "duplicates") ?? 0;
}
