using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Resilience;

/// <summary>Real silo processes on Redis clustering, killed with SIGKILL or frozen with SIGSTOP.</summary>
[Collection(SlowRedisCollection.Name)]
[Trait("Category", "Process")]
public sealed class ProcessCrashTests(RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _queue = LlmClusterOptions.NewQueueName();
    private readonly List<SimulatorServer> _simulators = [];
    private readonly List<SiloProcess> _silos = [];

    private StackExchange.Redis.IDatabase Db => redis.Connection.GetDatabase();

    private OrleansLlm.Queue.QueueKeys Keys => new(_queue);

    public Task InitializeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData(SimulatorApi.Ollama)]
    [InlineData(SimulatorApi.OpenAI)]
    public async Task SigKilledSilo_LeasesRecoveredOnceDeclaredDead_SurvivorFinishesAll(SimulatorApi api)
    {
        var fastDetection = new Dictionary<string, string>
        {
            ["Orleans:Membership:ProbeTimeout"] = "00:00:01",
            ["Orleans:Membership:NumMissedProbesLimit"] = "2",
            ["Orleans:Membership:NumVotesForDeathDeclaration"] = "1",
            // Leases outlive the test: only membership declaring the silo dead can hand them back.
            ["Queue:LeaseDuration"] = "00:10:00",
        };
        // The survivor starts first, so it hosts the coordinator (whose own failover is tested elsewhere).
        await StartSiloAsync(fastDetection, api);
        var victim = await StartSiloAsync(fastDetection, api);
        var cities = await Cities.LoadAsync(6);
        await Db.ListRightPushAsync(Keys.Ready, cities.Select(c => (StackExchange.Redis.RedisValue)c.Json).ToArray());
        // 2 in flight and 1 leased ahead, which recovery hands back like the others.
        await Eventually.TrueAsync(async () => (await LeasesOfAsync(victim)) == 3, "the victim to hold 3 leases");
        var held = await HeldAsync(victim);

        var clock = Stopwatch.StartNew();
        victim.Kill();
        await Eventually.TrueAsync(async () => (await LeasesOfAsync(victim)) == 0, "the killed silo's leases to be recovered");
        clock.Stop();

        output.WriteLine($"SIGKILL: leases recovered {clock.Elapsed.TotalSeconds:F1} s after the kill (leases last 10 minutes)");
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(Db, Keys) == 6, "6 results");
        Assert.Empty(await QueueHandle.DeadLettersAsync(Db, Keys));
        // Every item it held, the one leased ahead too, came back through recovery (an attempt spent) and was done once.
        var results = await QueueHandle.RawResultsAsync(Db, Keys);
        Assert.All(held, id => Assert.Equal(2, System.Text.Json.JsonDocument.Parse(results[id]).RootElement.GetProperty("meta").GetProperty("attempts").GetInt32()));
    }

    [Fact]
    public async Task FrozenSilo_LeasesExpireAndAreRedone_NothingLost()
    {
        // Short leases, default (slow) failure detection: the lease expiry path acts first.
        var shortLeases = new Dictionary<string, string>
        {
            ["Queue:LeaseDuration"] = "00:00:02",
            ["Queue:SweepInterval"] = "00:00:00.250",
        };
        await StartSiloAsync(shortLeases);
        var frozen = await StartSiloAsync(shortLeases);
        var cities = await Cities.LoadAsync(6);
        await Db.ListRightPushAsync(Keys.Ready, cities.Select(c => (StackExchange.Redis.RedisValue)c.Json).ToArray());
        // 2 in flight and 1 leased ahead, which expires with them.
        await Eventually.TrueAsync(async () => (await LeasesOfAsync(frozen)) == 3, "the silo to freeze to hold 3 leases");

        var clock = Stopwatch.StartNew();
        frozen.Freeze();
        await Eventually.TrueAsync(async () => (await LeasesOfAsync(frozen)) == 0, "the frozen silo's leases to expire");
        clock.Stop();
        output.WriteLine($"SIGSTOP: leases recovered {clock.Elapsed.TotalSeconds:F1} s after the freeze (lease duration 2 s)");

        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(Db, Keys) == 6, "6 results while the silo is frozen");
        frozen.Thaw();
        Assert.Empty(await QueueHandle.DeadLettersAsync(Db, Keys));
        Assert.Equal(6, await QueueHandle.RawResultCountAsync(Db, Keys));
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        foreach (var sim in _simulators)
        {
            await sim.DisposeAsync();
        }
    }

    private async Task<SiloProcess> StartSiloAsync(Dictionary<string, string> extra, SimulatorApi api = SimulatorApi.Ollama)
    {
        // Each request takes ~1.5 s alone: long enough to be caught in flight.
        var sim = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.12, Api = api });
        _simulators.Add(sim);
        var settings = new Dictionary<string, string>(extra)
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Orleans:ClusterId"] = _queue,
            ["Queue:Name"] = _queue,
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "2",
        };
        foreach (var (key, value) in SimulatorBackend.SettingsFor(sim).Where(s => s.Value is not null))
        {
            settings[key] = value!;
        }

        var silo = await SiloProcess.StartAsync(settings);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>The ids of the items a silo holds leases of.</summary>
    private async Task<string[]> HeldAsync(SiloProcess silo)
    {
        var leases = (await Db.HashGetAllAsync(Keys.Owners)).Where(e => silo.Owns(e.Value!)).Select(e => e.Name).ToArray();
        return (await Db.HashGetAsync(Keys.InFlight, leases)).Select(v => Cities.IdOf(v!)).ToArray();
    }

    private async Task<int> LeasesOfAsync(SiloProcess silo) =>
        (await Db.HashValuesAsync(Keys.Owners)).Count(o => silo.Owns(o!));
}
