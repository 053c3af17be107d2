using System.Text.Json;
using Microsoft.Extensions.Configuration;
using OllamaSim;
using Orleans.Configuration;
using Orleans.TestingHost;
using OrleansLlm.Hosting;
using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>What a test cluster looks like: silos, their simulators, and the settings every silo gets.</summary>
public sealed class LlmClusterOptions
{
    public int Silos { get; set; } = 2;

    /// <summary>The queue's Redis list; unique by default so tests never see each other's items.</summary>
    public string QueueName { get; set; } = NewQueueName();

    public static string NewQueueName() => "q-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Simulator settings for the silo with this index.</summary>
    public Func<int, SimulatorOptions> Simulator { get; set; } = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.001 };

    /// <summary>
    /// The API every simulator speaks, and so the backend every silo uses (<see cref="SimulatorBackend"/>):
    /// <see cref="SimulatorApi.OpenAI"/> overrides what <see cref="Simulator"/> says, so a test runs on either backend by
    /// this one setting; leave it <see cref="SimulatorApi.Ollama"/> to mix them through <see cref="Simulator"/>.
    /// </summary>
    public SimulatorApi Api { get; set; } = SimulatorApi.Ollama;

    internal SimulatorOptions SimulatorAt(int index)
    {
        var simulator = Simulator(index);
        if (Api == SimulatorApi.OpenAI)
        {
            simulator.Api = SimulatorApi.OpenAI;
        }

        return simulator;
    }

    /// <summary>Declare a killed silo dead within seconds rather than the production default of about a minute.</summary>
    public bool FastFailureDetection { get; set; } = true;

    /// <summary>More silo configuration, after the OrleansLlm services (e.g. features a test turns on).</summary>
    public Action<InProcessTestSiloSpecificOptions, ISiloBuilder>? ConfigureSilo { get; set; }

    /// <summary>Configuration every silo gets, on top of the defaults below.</summary>
    public Dictionary<string, string?> Settings { get; } = new()
    {
        // Fixed concurrency, so tests know how many items each silo holds; the adaptive controller has its own tests.
        ["Worker:AdaptiveConcurrency"] = "false",
        ["Worker:MaxConcurrency"] = "2",
        ["Worker:DrainTimeout"] = "00:00:05",
        ["Queue:SweepInterval"] = "00:00:00.200",
        ["Queue:RetryBaseDelay"] = "00:00:00.020",
        ["Queue:RetryMaxDelay"] = "00:00:00.200",
    };
}

/// <summary>
/// A real in-process Orleans cluster (TestCluster) whose silos each have their own simulator (in Ollama or OpenAI mode, <see cref="LlmClusterOptions.Api"/>), all sharing a
/// real Redis and a queue name unique to this cluster, so tests never see each other's items.
/// </summary>
public sealed class LlmCluster : IAsyncDisposable
{
    // TestCluster reuses silo names after a silo stops, so a simulator is bound to a silo's address, not its name.
    private readonly Dictionary<string, int> _latestIndexByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _indexByOwner = new(StringComparer.Ordinal);
    private int _configuredSilos;

    private readonly List<SimulatorServer> _simulators = [];
    private readonly Func<int, SimulatorOptions> _simulatorOptions;

    private LlmCluster(IRedisEndpoint redis, string queueName, Func<int, SimulatorOptions> simulatorOptions)
    {
        Redis = redis;
        QueueName = queueName;
        Keys = new QueueKeys(queueName);
        _simulatorOptions = simulatorOptions;
    }

    public IRedisEndpoint Redis { get; }

    public string QueueName { get; }

    public QueueKeys Keys { get; }

    /// <summary>One simulator per silo ever started, in order; silos started later get theirs on the way up.</summary>
    public IReadOnlyList<SimulatorServer> Simulators
    {
        get
        {
            lock (_simulators)
            {
                return _simulators.ToArray();
            }
        }
    }

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public IDatabase Db => Redis.Connection.GetDatabase();

    public static async Task<LlmCluster> StartAsync(IRedisEndpoint redis, Action<LlmClusterOptions>? configure = null)
    {
        var options = new LlmClusterOptions();
        configure?.Invoke(options);
        var cluster = new LlmCluster(redis, options.QueueName, options.SimulatorAt);
        for (var i = 0; i < options.Silos; i++)
        {
            cluster._simulators.Add(await SimulatorServer.StartAsync(options.SimulatorAt(i)));
        }

        var builder = new InProcessTestClusterBuilder((short)options.Silos);
        builder.ConfigureSiloHost((silo, host) =>
        {
            var simulator = cluster.SimulatorFor(silo.SiloName);
            var settings = new Dictionary<string, string?>(options.Settings)
            {
                ["Redis:ConnectionString"] = redis.ConnectionString,
                ["Queue:Name"] = cluster.QueueName,
            };
            foreach (var (key, value) in SimulatorBackend.SettingsFor(simulator))
            {
                settings[key] = value;
            }

            host.Configuration.AddInMemoryCollection(settings);
        });
        builder.ConfigureSilo((siloOptions, silo) =>
        {
            silo.AddOrleansLlm();
            options.ConfigureSilo?.Invoke(siloOptions, silo);
            if (options.FastFailureDetection)
            {
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 2;
                    o.NumVotesForDeathDeclaration = 1;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                });
            }
        });
        // As ClusterConnection does for real clients: grain calls carry the caller's trace context.
        builder.ConfigureClient(client =>
        {
            client.AddActivityPropagation();
            client.Services.AddGrainCallExceptions();
        });
        cluster.Cluster = builder.Build();
        await cluster.Cluster.DeployAsync();
        foreach (var silo in cluster.Cluster.Silos)
        {
            cluster.Track(silo);
        }

        return cluster;
    }

    public InProcessSiloHandle SiloAt(int index) => Cluster.Silos[index];

    public string OwnerOf(InProcessSiloHandle silo) => silo.SiloAddress.ToParsableString();

    /// <summary>Leases Redis holds for this silo.</summary>
    public async Task<string[]> LeasesOfAsync(InProcessSiloHandle silo) =>
        (await Db.HashGetAllAsync(Keys.Owners)).Where(e => e.Value == OwnerOf(silo)).Select(e => (string)e.Name!).ToArray();

    /// <summary>The items (payloads) Redis holds under these leases.</summary>
    public async Task<string[]> PayloadsAsync(IEnumerable<string> leaseIds) =>
        (await Db.HashGetAsync(Keys.InFlight, leaseIds.Select(id => (RedisValue)id).ToArray())).Select(v => (string)v!).ToArray();

    public ICoordinatorGrain Coordinator => Client.GetGrain<ICoordinatorGrain>(0);

    /// <summary>Binds a silo started after the cluster (scale-up) to the simulator it was configured with.</summary>
    public InProcessSiloHandle Track(InProcessSiloHandle silo)
    {
        lock (_simulators)
        {
            _indexByOwner[OwnerOf(silo)] = _latestIndexByName[silo.Name];
        }

        return silo;
    }

    /// <summary>The simulator beside this silo, also after the silo stopped.</summary>
    public SimulatorServer SimulatorOf(InProcessSiloHandle silo) => SimulatorOf(OwnerOf(silo));

    /// <summary>The simulator beside the silo with this address.</summary>
    public SimulatorServer SimulatorOf(string siloAddress)
    {
        lock (_simulators)
        {
            return _simulators[_indexByOwner[siloAddress]];
        }
    }

    public async Task PushRawAsync(IEnumerable<string> items) =>
        await Db.ListRightPushAsync(Keys.Ready, items.Select(i => (RedisValue)i).ToArray());

    public async Task<Dictionary<string, JsonElement>> ResultsAsync(string batchId = BatchIds.Default)
    {
        var entries = batchId == BatchIds.Default
            ? await QueueHandle.RawResultsAsync(Db, Keys)
            : (await Db.HashGetAllAsync(Keys.Results(batchId))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        return entries.ToDictionary(e => e.Key, e => JsonDocument.Parse(e.Value).RootElement.Clone());
    }

    public async Task<long> ResultCountAsync(string batchId = BatchIds.Default) =>
        batchId == BatchIds.Default ? (await QueueHandle.RawResultsAsync(Db, Keys)).Count : await Db.HashLengthAsync(Keys.Results(batchId));

    /// <summary>Every dead letter of the queue: the raw items' first, then each batch's in creation order.</summary>
    public Task<JsonElement[]> DeadLettersAsync() => QueueHandle.DeadLettersAsync(Db, Keys);

    public async Task<string> DescribeQueueAsync() =>
        $"ready {await Db.ListLengthAsync(Keys.Ready)} raw + {await Db.SortedSetLengthAsync(Keys.ReadyClass(BatchPriority.High))} high + " +
        $"{await Db.SortedSetLengthAsync(Keys.ReadyClass(BatchPriority.Normal))} normal + {await Db.SortedSetLengthAsync(Keys.ReadyClass(BatchPriority.Low))} low, " +
        $"in flight {await Db.HashLengthAsync(Keys.InFlight)} (retries waiting {await Db.SortedSetLengthAsync(Keys.Retries)}), " +
        $"dead {(long?)await Db.HashGetAsync(Keys.Stats, "dead") ?? 0}, raw results {await ResultCountAsync()}; owners: " +
        string.Join(", ", (await Db.HashValuesAsync(Keys.Owners)).GroupBy(o => (string)o!).Select(g => $"{g.Key} {g.Count()}")) +
        $"; in flight: {string.Join(" ", (await Db.HashGetAllAsync(Keys.InFlight)).Take(3).Select(e => $"{e.Name}={Shorten(e.Value!)}"))}";

    private static string Shorten(string s) => s.Length > 80 ? s[..80] + "…" : s;

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        foreach (var sim in Simulators)
        {
            await sim.DisposeAsync();
        }
    }

    // Called as each silo is configured: it gets the first simulator no silo used yet, started now if need be.
    private SimulatorServer SimulatorFor(string siloName)
    {
        lock (_simulators)
        {
            var index = _configuredSilos++;
            while (_simulators.Count <= index)
            {
                _simulators.Add(SimulatorServer.StartAsync(_simulatorOptions(_simulators.Count)).GetAwaiter().GetResult());
            }

            _latestIndexByName[siloName] = index;
            return _simulators[index];
        }
    }
}
