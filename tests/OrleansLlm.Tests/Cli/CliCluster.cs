using OllamaSim;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Formats;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Cli;

/// <summary>
/// What a new user runs the CLI against, shared by every test of the real CLI against a real silo (the CLI's and the
/// file formats') so CI starts it once: a real redis-server, one real silo process logging as it ships (its own
/// appsettings.json), and its Ollama simulator over real HTTP, with a second model beside the silo's default.
/// </summary>
/// <remarks>
/// Tests keep apart by batch id and restore what they change (the simulator's faults, speed and models, the worker's
/// state). Failures retry fast and give up after two attempts, and a drain gives in-flight calls 3 seconds, so those
/// paths are quick.
/// </remarks>
public sealed class CliCluster : IAsyncLifetime
{
    public RedisProcess Redis { get; private set; } = null!;

    public SimulatorServer Simulator { get; private set; } = null!;

    public SiloProcess Silo { get; private set; } = null!;

    public string QueueName { get; } = LlmClusterOptions.NewQueueName();

    public QueueKeys Keys => new(QueueName);

    public IDatabase Db => Redis.Db;

    /// <summary>The environment a user would set to reach this cluster.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["Redis__ConnectionString"] = Redis.ConnectionString };

    public async Task InitializeAsync()
    {
        Redis = await RedisProcess.StartAsync();
        Simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 4, TimeScale = 0.001, Models = [SimulatorOptions.DefaultModel, BatchRequests.OtherModel] });
        Silo = await SiloProcess.StartAsync(
            new Dictionary<string, string>
            {
                ["Redis:ConnectionString"] = Redis.ConnectionString,
                ["Queue:Name"] = QueueName,
                ["Ollama:Url"] = Simulator.Url.ToString(),
                ["Queue:MaxAttempts"] = "2",
                ["Queue:RetryBaseDelay"] = "00:00:00.020",
                ["Queue:RetryMaxDelay"] = "00:00:00.200",
                ["Worker:DrainTimeout"] = "00:00:03",
            },
            shippedLogging: true);
    }

    public Task<CliRun> RunAsync(params string[] args) => CliProcess.RunAsync(Patient(args), Environment);

    public RunningCli Start(params string[] args) => CliProcess.Start(Patient(args), Environment);

    /// <summary>
    /// The arguments with a minute to connect unless they set their own: the default 10 s was too short for a CLI
    /// process starting on two cores shared with a whole test run (7 tests failed on it in one run, none of them about
    /// connecting). Tests of the timeout itself give theirs.
    /// </summary>
    private static string[] Patient(string[] args) =>
        args.Contains("--connect-timeout") ? args : [.. args, "--connect-timeout", "1m"];

    /// <summary>True when Redis holds nothing of the batch: it was never created, let alone given items.</summary>
    public async Task<bool> NothingSubmittedAsync(string batchId) =>
        !await Db.KeyExistsAsync(Keys.Batch(batchId))
        && !await Db.KeyExistsAsync(Keys.BatchItems(batchId))
        && await Db.SortedSetScoreAsync(Keys.Batches, batchId) is null;

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Simulator.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class CliClusterCollection : ICollectionFixture<CliCluster>
{
    public const string Name = "cli-cluster";
}
