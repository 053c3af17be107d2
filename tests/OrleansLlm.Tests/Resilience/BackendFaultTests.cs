using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Worker;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

/// <summary>
/// One broken Ollama must not poison the queue: a silo whose backend fails hands its items back without spending
/// their attempts, leases nothing until the backend answers again, and the healthy silo carries the work.
/// The figures each test prints are the rows of docs/reliability.md.
/// </summary>
[Collection(SlowRedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class BackendFaultTests(RedisServer redis, ITestOutputHelper output)
{
    // About 12 ms per request alone: fast enough for hundreds of items, slow enough for both silos to be busy.
    private static SimulatorOptions Fast(int _) => new() { Parallel = 2, TimeScale = 0.001 };

    public static TheoryData<string> BrokenBackends => new() { "500", "503", "404", "refused", "hang", "midstream" };

    [Theory]
    [MemberData(nameof(BrokenBackends))]
    public async Task OneBackendBroken_NoGoodItemDeadLettered_HealthySiloCarriesTheWork_BrokenOneComesBack(string fault)
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = Fast;
            o.Settings["Queue:MaxAttempts"] = "3";
            // Short enough to find a hung Ollama fast; long enough that the healthy silo's requests (12 ms) never time out
            // on a loaded machine, which would rightly spend an attempt.
            o.Settings["Ollama:RequestTimeout"] = "00:00:03";
            o.Settings["Ollama:ProbeTimeout"] = "00:00:01";
            o.Settings["Worker:BackendProbeMaxDelay"] = "00:00:01";
        });
        var broken = cluster.SiloAt(1);
        var healthy = cluster.SiloAt(0);
        var sim = cluster.SimulatorOf(broken);
        var brokenState = broken.SiloHost.Services.GetRequiredService<LocalWorkerState>();
        await Break(sim, fault);
        var cities = await Cities.LoadAsync(400);
        var clock = Stopwatch.StartNew();

        await cluster.PushRawAsync(cities.Select(c => c.Json));
        await Eventually.TrueAsync(() => brokenState.BackendProblem is not null, "the broken silo's breaker to open");
        var problem = brokenState.BackendProblem;
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() >= 200, "half the items done while the backend is broken", describe: cluster.DescribeQueueAsync);
        await Repair(sim, fault);
        var repaired = clock.Elapsed;
        await Eventually.TrueAsync(() => brokenState.BackendProblem is null, "the breaker to close once the backend answers");
        var back = clock.Elapsed - repaired;
        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 400, "400 results", describe: cluster.DescribeQueueAsync);

        var results = (await cluster.ResultsAsync()).Values.ToArray();
        var bySilo = results.GroupBy(r => r.GetProperty("meta").GetProperty("silo").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        var served = cluster.Simulators.Sum(s => s.GetStats().Served);
        Report(output, $"Ollama {fault} on one of two silos", 400, results.Length, (await cluster.DeadLettersAsync()).Length,
            served - 400, $"breaker closed {back.TotalSeconds:F1} s after the repair; healthy silo served {bySilo.GetValueOrDefault(cluster.OwnerOf(healthy))}, broken {bySilo.GetValueOrDefault(cluster.OwnerOf(broken))}; breaker said: {problem}");

        Assert.Empty(await cluster.DeadLettersAsync());
        Assert.All(results, r => Assert.Equal(1, r.GetProperty("meta").GetProperty("attempts").GetInt32()));
        Assert.True(bySilo.GetValueOrDefault(cluster.OwnerOf(healthy)) >= 200, "the healthy silo carried the work while the other was broken");
    }

    [Fact]
    public async Task PoisonItem_FailsOnHealthyBackends_DeadLetteredAfterMaxAttempts_ListingTheSilos()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.001, Faults = new FaultOptions { FailPromptContains = "Atlantis" } };
            o.Settings["Queue:MaxAttempts"] = "3";
        });
        var good = await Cities.LoadAsync(60);
        await cluster.PushRawAsync([.. good.Take(30).Select(c => c.Json), "{\"city\":\"Atlantis\",\"id\":\"lost-1\"}", .. good.Skip(30).Select(c => c.Json)]);

        await Eventually.TrueAsync(async () => (await cluster.DeadLettersAsync()).Length == 1 && await cluster.ResultCountAsync() == 60,
            "Atlantis dead-lettered and 60 results", describe: cluster.DescribeQueueAsync);

        var dead = (await cluster.DeadLettersAsync()).Single();
        var failedOn = dead.GetProperty("failed_on").EnumerateArray().Select(e => e.GetString()).ToArray();
        Report(output, "poison item (fails everywhere)", 61, 60, 1, 0, $"dead-lettered after {dead.GetProperty("attempts")} attempts, failed on {failedOn.Length} silos");
        Assert.Equal(3, dead.GetProperty("attempts").GetInt32());
        Assert.Contains("500", dead.GetProperty("error").GetString());
        Assert.NotEmpty(failedOn);
        Assert.All(failedOn, s => Assert.Contains(s, cluster.Cluster.Silos.Select(cluster.OwnerOf)));
    }

    private static Task Break(SimulatorServer sim, string fault) => fault switch
    {
        "500" => Set(sim, f => f with { ErrorRate = 1 }),
        "503" => Set(sim, f => f with { UnavailableRate = 1 }),
        "404" => Task.FromResult(sim.DeleteModel("qwen2:1.5b")),
        "refused" => sim.StopAsync(),
        "hang" => Set(sim, f => f with { HangRate = 1 }),
        "midstream" => Set(sim, f => f with { MidStreamErrorRate = 1 }),
        _ => throw new ArgumentOutOfRangeException(nameof(fault)),
    };

    private static Task Repair(SimulatorServer sim, string fault)
    {
        switch (fault)
        {
            case "404":
                sim.PullModel("qwen2:1.5b");
                return Task.CompletedTask;
            case "refused":
                return sim.RestartAsync();
            default:
                return Set(sim, _ => new FaultOptions());
        }
    }

    private static Task Set(SimulatorServer sim, Func<FaultOptions, FaultOptions> change)
    {
        sim.UpdateFaults(change);
        return Task.CompletedTask;
    }

    /// <summary>One row of the fault matrix in docs/reliability.md.</summary>
    /// <param name="extraCalls">Ollama answers beyond one per result: items computed twice, and the breaker's health probes.</param>
    internal static void Report(ITestOutputHelper output, string fault, int itemsIn, int results, int deadLettered, long extraCalls, string recovery) =>
        output.WriteLine($"| {fault} | {itemsIn} | {results} | {deadLettered} | {extraCalls} | {recovery} |");
}
