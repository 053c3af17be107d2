using System.Text.Json;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

/// <summary>Bad, repeated and forged items: each is dead-lettered at once with its reason, or counted, and never lost.</summary>
[Collection(RedisCollection.Name)]
public sealed class ItemFaultTests(RedisServer redis, ITestOutputHelper output)
{
    private static SimulatorOptions Fast(int _) => new() { Parallel = 2, TimeScale = 0.001 };

    [Fact]
    public async Task UnreadableItems_DeadLetteredAtOnce_AsMalformed_NotAfterALeaseExpiry()
    {
        // Long leases: a dead letter that waited for an expiry would not come within the test.
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = Fast;
            o.Settings["Queue:LeaseDuration"] = "00:10:00";
        });
        string[] bad =
        [
            """{"city":"\ud800","id":"surrogate-1"}""",
            """{"city":"Paris\ud83d"}""",
            """{"olm":{"b":"b1","id":7},"item":{"city":"Oslo"}}""",
            """{"olm":{"b":"evil batch","id":"1"},"item":{"city":"Oslo"}}""",
        ];
        var good = await Cities.LoadAsync(10);

        await cluster.PushRawAsync([.. bad, .. good.Select(c => c.Json)]);

        await Eventually.TrueAsync(async () => (await cluster.DeadLettersAsync()).Length == 4 && await cluster.ResultCountAsync() == 10,
            "4 dead letters and 10 results", describe: cluster.DescribeQueueAsync);
        var reasons = (await cluster.DeadLettersAsync()).Select(d => d.GetProperty("reason").GetString()!).ToArray();
        BackendFaultTests.Report(output, "unreadable items (lone surrogates, numeric envelope id, bad batch id)", 14, 10, 4, 0, "dead-lettered as malformed at once: " + string.Join("; ", reasons));
        Assert.All(reasons, r => Assert.StartsWith("malformed item:", r));
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
        Assert.False(await cluster.Db.KeyExistsAsync(cluster.Keys.Results("evil batch")));
    }

    [Fact]
    public async Task DuplicateRawIds_SecondItemDeadLetteredWithoutOllama_SameItemAgainCountedNotLost()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = Fast);
        var uman = """{"city":"Uman","country":"Ukraine","id":"1484009408"}""";
        var umanMexico = """{"city":"Umán","country":"Mexico","id":"1484009408"}""";
        await cluster.PushRawAsync([uman]);
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 1, "Uman's result");
        var callsBefore = cluster.Simulators.Sum(s => s.GetStats().Received);

        // The other city with the same id, and the very same item again (Bento re-pushing).
        await cluster.PushRawAsync([umanMexico, uman]);

        await Eventually.TrueAsync(async () => (await cluster.DeadLettersAsync()).Length == 1 && (long)await cluster.Db.StringGetAsync(cluster.Keys.Duplicates) == 1
                && await cluster.Db.HashLengthAsync(cluster.Keys.InFlight) == 0,
            "one dead letter for the other item and one duplicate for the same one", describe: cluster.DescribeQueueAsync);
        var dead = (await cluster.DeadLettersAsync()).Single();
        var progress = await cluster.Client.GetGrain<IBatchGrain>(BatchIds.Default).GetProgressAsync();
        BackendFaultTests.Report(output, "duplicate raw ids (Uman and Umán, 1484009408; then Uman again)", 3, 1, 1, 0, dead.GetProperty("reason").GetString()!);
        Assert.StartsWith("duplicate id '1484009408'", dead.GetProperty("reason").GetString());
        Assert.Contains("Umán", dead.GetProperty("item").GetString());
        Assert.Equal(callsBefore, cluster.Simulators.Sum(s => s.GetStats().Received));
        Assert.Equal("Uman", (await cluster.ResultsAsync())["1484009408"].GetProperty("input").GetProperty("city").GetString());
        Assert.Equal((1L, 1L), (progress.Done, progress.DeadLettered));
    }

    [Fact]
    public async Task ForgedEnvelopes_DeadLettered_TheBatchNeverCountsMoreThanItHas()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = Fast);
        var cities = await Cities.LoadAsync(5);
        var submitter = new BatchSubmitter(cluster.Client);
        await submitter.SubmitAsync("victim", new BatchSpec(null, null), cities, CancellationToken.None);
        var tokyoId = cities[0].Id;
        string[] forged =
        [
            "{\"olm\":{\"b\":\"victim\",\"id\":\"" + tokyoId + "\"},\"item\":{\"city\":\"Forged Tokyo\",\"id\":\"" + tokyoId + "\"}}",
            """{"olm":{"b":"victim","id":"extra-1"},"item":{"city":"Extra"}}""",
            """{"olm":{"b":"nosuchbatch","id":"x"},"item":{"city":"Nowhere"}}""",
        ];

        await cluster.PushRawAsync(forged);
        var final = await submitter.WaitAsync("victim", TimeSpan.FromMilliseconds(100), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        await Eventually.TrueAsync(async () => (await cluster.DeadLettersAsync()).Length == 3, "the 3 forged envelopes dead-lettered", describe: cluster.DescribeQueueAsync);

        var tokyo = (await BatchResults.ReadAsync(cluster.Client.GetGrain<IBatchGrain>("victim"), CancellationToken.None).ToListAsync())
            .Select(ResultDocument.Read).Single(r => r.Id == tokyoId);
        var deadLetters = await cluster.DeadLettersAsync();
        BackendFaultTests.Report(output, "forged batch envelopes pushed by a producer", 8, 5, 3, 0, "dead-lettered as malformed; the batch shows 5 of 5");
        Assert.Equal((5L, 5L), (final.Total!.Value, final.Done));
        Assert.DoesNotContain("Forged", tokyo.Input.Single(kv => kv.Key == "city").Value);
        Assert.All(deadLetters, d => Assert.Contains("never enqueued", d.GetProperty("reason").GetString()));
        Assert.Equal(5, (await cluster.Client.GetGrain<IBatchGrain>("victim").GetProgressAsync()).Done);
    }

    [Fact]
    public async Task DeadLetters_KeepAtMostTheConfiguredPayload_AndTheListIsTrimmed()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Simulator = Fast;
            o.Settings["Queue:DeadLetterMaxPayloadBytes"] = "100";
            o.Settings["Queue:DeadLetterMaxLength"] = "3";
        });
        var huge = JsonSerializer.Serialize(new { town = "Nowhere", blob = new string('x', 5000) });

        await cluster.PushRawAsync(Enumerable.Range(0, 5).Select(i => huge.Replace("Nowhere", $"Nowhere {i}")));

        await Eventually.TrueAsync(async () => (await cluster.Client.GetGrain<IBatchGrain>(BatchIds.Default).GetProgressAsync()).DeadLettered == 5,
            "5 items dead-lettered", describe: cluster.DescribeQueueAsync);
        var dead = await cluster.DeadLettersAsync();
        Assert.Equal(3, dead.Length);
        Assert.All(dead, d =>
        {
            Assert.Equal(100, d.GetProperty("item").GetString()!.Length);
            Assert.True(d.GetProperty("truncated").GetBoolean());
            Assert.True(d.GetProperty("item_bytes").GetInt32() > 5000);
            Assert.Equal(40, d.GetProperty("item_sha1").GetString()!.Length);
        });
        Assert.Contains("Nowhere 4", dead[^1].GetProperty("item").GetString());
    }

    [Fact]
    public async Task ResultTtl_ResultsExpire()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Simulator = Fast;
            o.Settings["Queue:ResultTtl"] = "00:00:01";
        });
        await cluster.PushRawAsync((await Cities.LoadAsync(3)).Select(c => c.Json));
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 3, "3 results");

        var ttl = await cluster.Db.KeyTimeToLiveAsync(cluster.Keys.Results(BatchIds.Default));

        Assert.NotNull(ttl);
        await Eventually.TrueAsync(async () => !await cluster.Db.KeyExistsAsync(cluster.Keys.Results(BatchIds.Default)), "the results to expire");
    }
}
