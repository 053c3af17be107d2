using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.QueueModel;

/// <summary>Everything the queue holds in Redis, read at once after a step, and where each item is found in it.</summary>
public sealed partial class Observation
{
    public required List<string> RawList { get; init; }

    /// <summary>(batch, number) → the ready sets' members that are its envelope, with their class.</summary>
    public required List<(string Batch, int Number, BatchPriority Class)> Ready { get; init; }

    public required List<(string Batch, int Number, string Model)> Parked { get; init; }

    public required Dictionary<string, string> InFlight { get; init; }

    public required Dictionary<string, string> Owners { get; init; }

    public required Dictionary<string, long> Deadlines { get; init; }

    public required Dictionary<string, long> Retries { get; init; }

    public required Dictionary<string, string> RawState { get; init; }

    public required Dictionary<string, string> Stats { get; init; }

    public required Dictionary<string, BatchObservation> Batches { get; init; }

    public required HashSet<string> BatchIndex { get; init; }

    public required Dictionary<string, long> Ended { get; init; }

    /// <summary>Raw results by (day, id).</summary>
    public required Dictionary<(long Day, string Id), string> RawResults { get; init; }

    public required List<JsonElement> RawDead { get; init; }

    public static async Task<Observation> ReadAsync(IDatabase db, QueueKeys keys, IEnumerable<string> batchIds, IEnumerable<string> models)
    {
        var ready = new List<(string, int, BatchPriority)>();
        foreach (var priority in BatchPriorities.All)
        {
            foreach (var member in await db.SortedSetRangeByRankAsync(keys.ReadyClass(priority)))
            {
                var (b, n) = EnvelopeOf(member!);
                ready.Add((b, n, priority));
            }
        }

        var parked = new List<(string, int, string)>();
        foreach (var model in models)
        {
            foreach (var member in await db.SortedSetRangeByRankAsync(keys.Parked(model)))
            {
                var (b, n) = EnvelopeOf(member!);
                parked.Add((b, n, model));
            }
        }

        var batchIndex = (await db.SortedSetRangeByRankAsync(keys.Batches)).Select(b => (string)b!).ToHashSet(StringComparer.Ordinal);
        var batches = new Dictionary<string, BatchObservation>(StringComparer.Ordinal);
        foreach (var b in batchIds.Concat(batchIndex).Distinct(StringComparer.Ordinal))
        {
            batches[b] = new BatchObservation(
                await HashAsync(db, keys.Batch(b)),
                await HashAsync(db, keys.BatchItems(b)),
                await HashAsync(db, keys.BatchState(b)),
                await HashAsync(db, keys.Results(b)),
                (await db.ListRangeAsync(keys.DeadLetters(b))).Select(e => JsonDocument.Parse((string)e!).RootElement.Clone()).ToList(),
                await db.KeyExistsAsync(keys.ResultOrder(b)) ? (await db.SortedSetRangeByRankWithScoresAsync(keys.ResultOrder(b))).ToDictionary(e => (string)e.Element!, e => (long)e.Score) : []);
        }

        var rawResults = new Dictionary<(long, string), string>();
        foreach (var day in await db.SortedSetRangeByRankAsync(keys.RawDays))
        {
            foreach (var entry in await db.HashGetAllAsync(keys.RawResults((long)day)))
            {
                rawResults[((long)day, (string)entry.Name!)] = (string)entry.Value!;
            }
        }

        return new Observation
        {
            RawList = (await db.ListRangeAsync(keys.Ready)).Select(v => (string)v!).ToList(),
            Ready = ready,
            Parked = parked,
            InFlight = await HashAsync(db, keys.InFlight),
            Owners = await HashAsync(db, keys.Owners),
            Deadlines = (await db.SortedSetRangeByRankWithScoresAsync(keys.Deadlines)).ToDictionary(e => (string)e.Element!, e => (long)e.Score),
            Retries = (await db.SortedSetRangeByRankWithScoresAsync(keys.Retries)).ToDictionary(e => (string)e.Element!, e => (long)e.Score),
            RawState = await HashAsync(db, keys.RawState),
            Stats = await HashAsync(db, keys.Stats),
            Batches = batches,
            BatchIndex = batchIndex,
            Ended = (await db.SortedSetRangeByRankWithScoresAsync(keys.Ended)).ToDictionary(e => (string)e.Element!, e => (long)e.Score),
            RawResults = rawResults,
            RawDead = (await db.ListRangeAsync(keys.DeadLetters(BatchIds.Default))).Select(e => JsonDocument.Parse((string)e!).RootElement.Clone()).ToList(),
        };
    }

    public long Stat(string name) => Stats.TryGetValue(name, out var v) ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : 0;

    /// <summary>Every place a batch's item is found: ready, parked, in flight (leased or waiting), done, dead.</summary>
    public List<string> WhereIs(MBatchItem item)
    {
        var places = new List<string>();
        places.AddRange(Ready.Where(r => r.Batch == item.Batch.Id && r.Number == item.Number).Select(r => $"ready:{r.Class}"));
        places.AddRange(Parked.Where(p => p.Batch == item.Batch.Id && p.Number == item.Number).Select(p => $"parked:{p.Model}"));
        foreach (var (token, payload) in InFlight)
        {
            if (token.EndsWith('b') && EnvelopeOf(payload) == (item.Batch.Id, item.Number))
            {
                places.Add(Owners.TryGetValue(token, out var owner) ? $"leased:{token}:{owner}" : $"waiting:{token}");
            }
        }

        if (Batches.TryGetValue(item.Batch.Id, out var batch))
        {
            if (batch.Results.ContainsKey(item.Id))
            {
                places.Add("done");
            }

            places.AddRange(batch.Dead.Where(d => !d.TryGetProperty("retried", out _) && EnvelopeOf(d.GetProperty("item").GetString()!) == (item.Batch.Id, item.Number)).Select(_ => "dead"));
        }

        return places;
    }

    /// <summary>The batch and number of a stored envelope, as the scripts read them; ("", 0) for anything else.</summary>
    public static (string Batch, int Number) EnvelopeOf(string payload) =>
        EnvelopePattern().Match(payload) is { Success: true } m ? (m.Groups[1].Value, int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)) : (string.Empty, 0);

    private static async Task<Dictionary<string, string>> HashAsync(IDatabase db, string key) =>
        (await db.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);

    [GeneratedRegex("^\\{\"olm\":\\{\"b\":\"([A-Za-z0-9][A-Za-z0-9._-]{0,63})\",\"n\":(\\d+)[,}]")]
    private static partial Regex EnvelopePattern();
}
