using System.Text.Json;
using OllamaSim;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Pipeline;

/// <summary>End to end: items pushed into a real Redis come out enriched by a real two-silo cluster and simulators.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class PipelineTests(RedisServer redis)
{
    [Theory]
    [InlineData(SimulatorApi.Ollama)]
    [InlineData(SimulatorApi.OpenAI)]
    public async Task RawBentoCities_AllEnriched_SpreadOverBothSilos(SimulatorApi api)
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Api = api);
        var cities = await Cities.LoadAsync(1000);
        await cluster.PushRawAsync(cities.Select(c => c.Json));

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 1000, "1000 results", describe: cluster.DescribeQueueAsync);

        var results = await cluster.ResultsAsync();
        Assert.Equal(cities.Select(c => c.Id).Order(), results.Keys.Order());
        foreach (var city in cities)
        {
            var result = results[city.Id];
            var name = JsonDocument.Parse(city.Json).RootElement.GetProperty("city").GetString()!;
            var prompt = PromptOptions.DefaultTemplate.Replace("{city}", name);
            Assert.Equal(SimulatedModel.AnswerFor(prompt).Trim(), result.GetProperty("mayor").GetString());
            Assert.Equal(name, result.GetProperty("input").GetProperty("city").GetString());
            Assert.Equal("qwen2:1.5b", result.GetProperty("meta").GetProperty("model").GetString());
            Assert.True(result.GetProperty("meta").GetProperty("total_duration").GetInt64() > 0);
        }

        var perSilo = results.Values.GroupBy(r => r.GetProperty("meta").GetProperty("silo").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(2, perSilo.Count);
        Assert.All(perSilo.Values, n => Assert.True(n >= 100, $"each silo should do a fair share, got {string.Join(", ", perSilo.Values)}"));
        Assert.Empty(await cluster.DeadLettersAsync());
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
    }

    [Fact]
    public async Task EachSilo_CallsOnlyItsOwnOllama()
    {
        await using var cluster = await LlmCluster.StartAsync(redis);
        var cities = await Cities.LoadAsync(300);
        await cluster.PushRawAsync(cities.Select(c => c.Json));

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 300, "300 results", describe: cluster.DescribeQueueAsync);

        var results = await cluster.ResultsAsync();
        foreach (var group in results.Values.GroupBy(r => r.GetProperty("meta").GetProperty("silo").GetString()!))
        {
            // Every result a silo wrote was served by the simulator beside it, and by no other.
            Assert.Equal(group.Count(), cluster.SimulatorOf(group.Key).GetStats().Served);
        }

        Assert.Equal(300, cluster.Simulators.Sum(s => s.GetStats().Served));
    }

    [Fact]
    public async Task MalformedItems_DeadLetteredWithReasons_GoodItemsComplete()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Settings["Queue:MaxItemBytes"] = "1024");
        var good = await Cities.LoadAsync(20);
        var oversized = JsonSerializer.Serialize(new Dictionary<string, string> { ["city"] = "Big", ["blob"] = new string('x', 2000) });
        var items = new List<string> { "this is not json", "[1, 2, 3]", "{\"town\":\"Nowhere\"}", oversized, "{\"city\":" };
        items.InsertRange(2, good.Take(10).Select(c => c.Json));
        items.AddRange(good.Skip(10).Select(c => c.Json));
        await cluster.PushRawAsync(items);

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 20 && (await cluster.DeadLettersAsync()).Length == 5,
            "20 results and 5 dead letters", describe: cluster.DescribeQueueAsync);

        var reasons = (await cluster.DeadLettersAsync()).ToDictionary(d => d.GetProperty("item").GetString()!, d => d.GetProperty("reason").GetString()!);
        Assert.Contains("not valid JSON", reasons["this is not json"]);
        Assert.Contains("not a JSON object but array", reasons["[1, 2, 3]"]);
        Assert.Contains("missing field 'city'", reasons["{\"town\":\"Nowhere\"}"]);
        Assert.Contains("over the limit of 1024", reasons[oversized]);
        Assert.Contains("not valid JSON", reasons["{\"city\":"]);
        Assert.Equal(5, (await cluster.Client.GetGrain<IBatchGrain>(BatchIds.Default).GetProgressAsync()).DeadLettered);
    }

    [Fact]
    public async Task FlakyOllama_EveryItemCompletes_AttemptsRecorded()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = i => new SimulatorOptions { Parallel = 2, TimeScale = 0.001, Seed = 42 + i, Faults = new FaultOptions { ErrorRate = 0.3 } };
            o.Settings["Queue:MaxAttempts"] = "12";
        });
        var cities = await Cities.LoadAsync(150);
        await cluster.PushRawAsync(cities.Select(c => c.Json));

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 150, "150 results despite 30% failures", describe: cluster.DescribeQueueAsync);

        var attempts = (await cluster.ResultsAsync()).Values.Select(r => r.GetProperty("meta").GetProperty("attempts").GetInt32()).ToArray();
        Assert.Contains(attempts, a => a > 1);
        Assert.Empty(await cluster.DeadLettersAsync());
        // Every spent attempt is a failed call; a failure with no success around it may be blamed on the backend
        // instead (the item goes back without spending one), and health probes fail now and then too.
        var failedCalls = cluster.Simulators.Sum(s => s.GetStats().Failed);
        Assert.InRange(attempts.Sum(a => a - 1), 1, failedCalls);
    }

    [Fact]
    public async Task AlwaysFailingItem_DeadLetteredAfterMaxAttempts()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.001, Faults = new FaultOptions { FailPromptContains = "Atlantis" } };
            o.Settings["Queue:MaxAttempts"] = "3";
        });
        var good = await Cities.LoadAsync(10);
        await cluster.PushRawAsync([.. good.Select(c => c.Json), "{\"city\":\"Atlantis\",\"id\":\"lost-1\"}"]);

        await Eventually.TrueAsync(async () => (await cluster.DeadLettersAsync()).Length == 1 && await cluster.ResultCountAsync() == 10,
            "Atlantis dead-lettered and 10 results", describe: cluster.DescribeQueueAsync);

        var dead = (await cluster.DeadLettersAsync()).Single();
        Assert.Equal(3, dead.GetProperty("attempts").GetInt32());
        Assert.Contains("500", dead.GetProperty("error").GetString());
        Assert.Contains("Atlantis", dead.GetProperty("item").GetString());
        Assert.Equal(3, cluster.Simulators.Sum(s => s.GetStats().Failed));
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
    }

    [Fact]
    public async Task OrphanedLease_ComesBackAndIsProcessed()
    {
        // A worker that vanished: it leased the item and will never complete it. It does so before the cluster
        // starts, so no real worker can take the item first.
        var queueName = LlmClusterOptions.NewQueueName();
        var city = (await Cities.LoadAsync(1)).Single();
        await using var ghost = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = queueName, LeaseDuration = TimeSpan.FromSeconds(1) });
        await ghost.Db.ListRightPushAsync(ghost.Keys.Ready, city.Json);
        var leased = await ghost.Queue.LeaseAsync("ghost-silo", 1, served: null, CancellationToken.None);
        Assert.Single(leased.Leases);

        await using var cluster = await LlmCluster.StartAsync(redis, o => o.QueueName = queueName);

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 1, "the orphaned item to be processed", describe: cluster.DescribeQueueAsync);
        var result = (await cluster.ResultsAsync())[city.Id];
        Assert.Equal(2, result.GetProperty("meta").GetProperty("attempts").GetInt32());
        Assert.NotEqual("ghost-silo", result.GetProperty("meta").GetProperty("silo").GetString());
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.Keys.InFlight));
    }
}
