using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;
using OllamaSim;
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

    /// <summary>Configuration every silo gets, on top of the defaults below.</summary>
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Worker:MaxConcurrency"] = "2",
        ["Worker:DrainTimeout"] = "00:00:05",
        ["Queue:SweepInterval"] = "00:00:00.200",
        ["Queue:RetryBaseDelay"] = "00:00:00.020",
        ["Queue:RetryMaxDelay"] = "00:00:00.200",
    };
}

/// <summary>
/// A real in-process Orleans cluster (TestCluster) whose silos each have their own Ollama simulator, all sharing a
/// real Redis and a queue name unique to this cluster, so tests never see each other's items.
/// </summary>
public sealed class LlmCluster : IAsyncDisposable
{
    private readonly Dictionary<string, int> _siloIndex = new(StringComparer.Ordinal);

    private LlmCluster(RedisServer redis, string queueName, SimulatorServer[] simulators)
    {
        Redis = redis;
        QueueName = queueName;
        Simulators = simulators;
        Keys = new QueueKeys(queueName);
    }

    public RedisServer Redis { get; }

    public string QueueName { get; }

    public QueueKeys Keys { get; }

    public SimulatorServer[] Simulators { get; }

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public IDatabase Db => Redis.Connection.GetDatabase();

    public static async Task<LlmCluster> StartAsync(RedisServer redis, Action<LlmClusterOptions>? configure = null)
    {
        var options = new LlmClusterOptions();
        configure?.Invoke(options);
        var simulators = new SimulatorServer[options.Silos];
        for (var i = 0; i < simulators.Length; i++)
        {
            simulators[i] = await SimulatorServer.StartAsync(options.Simulator(i));
        }

        var cluster = new LlmCluster(redis, options.QueueName, simulators);
        var builder = new InProcessTestClusterBuilder((short)options.Silos);
        builder.ConfigureSiloHost((silo, host) =>
        {
            var index = cluster.IndexOf(silo.SiloName);
            var settings = new Dictionary<string, string?>(options.Settings)
            {
                ["Redis:ConnectionString"] = redis.ConnectionString,
                ["Queue:Name"] = cluster.QueueName,
                ["Ollama:Url"] = simulators[index].Url.ToString(),
            };
            host.Configuration.AddInMemoryCollection(settings);
        });
        builder.ConfigureSilo((_, silo) => silo.AddOrleansLlm());
        cluster.Cluster = builder.Build();
        await cluster.Cluster.DeployAsync();
        return cluster;
    }

    /// <summary>The simulator beside the silo with this address.</summary>
    public SimulatorServer SimulatorOf(string siloAddress) =>
        Simulators[IndexOf(Cluster.Silos.Single(s => s.SiloAddress.ToParsableString() == siloAddress).Name)];

    public async Task PushRawAsync(IEnumerable<string> items) =>
        await Db.ListRightPushAsync(Keys.Ready, items.Select(i => (RedisValue)i).ToArray());

    public async Task<Dictionary<string, JsonElement>> ResultsAsync(string batchId = BatchIds.Default)
    {
        var entries = await Db.HashGetAllAsync(Keys.Results(batchId));
        return entries.ToDictionary(e => (string)e.Name!, e => JsonDocument.Parse((string)e.Value!).RootElement.Clone());
    }

    public async Task<long> ResultCountAsync(string batchId = BatchIds.Default) => await Db.HashLengthAsync(Keys.Results(batchId));

    public async Task<JsonElement[]> DeadLettersAsync() =>
        (await Db.ListRangeAsync(Keys.DeadLetter)).Select(v => JsonDocument.Parse((string)v!).RootElement.Clone()).ToArray();

    public async Task<string> DescribeQueueAsync() =>
        $"ready {await Db.ListLengthAsync(Keys.Ready)}, in flight {await Db.HashLengthAsync(Keys.InFlight)}, " +
        $"dead {await Db.ListLengthAsync(Keys.DeadLetter)}, results {await ResultCountAsync()}" +
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

    private int IndexOf(string siloName)
    {
        lock (_siloIndex)
        {
            if (!_siloIndex.TryGetValue(siloName, out var index))
            {
                index = _siloIndex.Count;
                _siloIndex[siloName] = index;
            }

            return index;
        }
    }
}
