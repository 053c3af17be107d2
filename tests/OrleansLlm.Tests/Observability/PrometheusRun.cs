using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Observability;

/// <summary>
/// One batch through two real silo processes, each beside its own simulator, with a real Prometheus scraping both
/// every second. One item always fails, so it is tried <see cref="MaxAttempts"/> times and dead-lettered.
/// </summary>
public sealed class PrometheusRun : IAsyncLifetime
{
    public const int Items = 300;
    public const int MaxAttempts = 2;
    public const string PoisonCity = "Poisontown";

    private RedisProcess _redis = null!;
    private ProcessReplicaSet _silos = null!;

    public PrometheusServer Prometheus { get; private set; } = null!;

    public IReadOnlyList<SiloProcess> Silos => _silos.Running;

    public BatchProgress Final { get; private set; } = null!;

    public TimeSpan RunTime { get; private set; }

    public async Task InitializeAsync()
    {
        _redis = await RedisProcess.StartAsync();
        var queue = LlmClusterOptions.NewQueueName();
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = _redis.ConnectionString,
            ["Orleans:ClusterId"] = queue,
            ["Queue:Name"] = queue,
            ["Queue:MaxAttempts"] = MaxAttempts.ToString(),
            ["Queue:RetryBaseDelay"] = "00:00:00.050",
            ["Queue:RetryMaxDelay"] = "00:00:00.200",
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "2",
            ["Worker:HeartbeatInterval"] = "00:00:01",
        };
        // Answers take a few hundred milliseconds, so the queue is deep for several scrapes before it drains.
        _silos = new ProcessReplicaSet(() => new SimulatorOptions { Parallel = 2, TimeScale = 0.01 }, settings);
        await Task.WhenAll(_silos.ScaleUpAsync(), _silos.ScaleUpAsync());
        foreach (var (_, simulator) in _silos.All)
        {
            simulator.UpdateFaults(f => f with { FailPromptContains = PoisonCity });
        }

        Prometheus = await PrometheusServer.StartAsync(Silos.Select(s => $"127.0.0.1:{s.HttpPort}").ToArray());
        await Eventually.TrueAsync(async () => (await Prometheus.TargetHealthAsync()).Values.Count(h => h == "up") == 2,
            "Prometheus to scrape both silos", describe: async () => string.Join(", ", await Prometheus.TargetHealthAsync()));

        var items = (await Cities.LoadAsync(Items)).Append(new BatchItem("poison", $$"""{"city":"{{PoisonCity}}"}""")).ToArray();
        await using var cluster = await ClusterConnection.ConnectAsync(new ClientSettings(_redis.ConnectionString, queue, "orleansllm"), CancellationToken.None);
        var clock = Stopwatch.StartNew();
        var submitter = new BatchSubmitter(cluster.Client);
        var batchId = BatchIds.New(TimeProvider.System);
        await submitter.SubmitAsync(batchId, new BatchSpec(null, null), items.ToAsyncEnumerable(), CancellationToken.None);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        Final = await submitter.WaitAsync(batchId, TimeSpan.FromMilliseconds(250), _ => { }, deadline.Token);
        RunTime = clock.Elapsed;
    }

    public async Task DisposeAsync()
    {
        await Prometheus.DisposeAsync();
        await _silos.DisposeAsync();
        await _redis.DisposeAsync();
    }
}
