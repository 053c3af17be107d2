using OllamaSim;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Formats;

/// <summary>
/// A real silo process on its own redis-server (so no other test's silos join its cluster), with an in-process
/// simulator whose faults a test may change, for the real CLI to talk to.
/// </summary>
public sealed class FormatsCliFixture : IAsyncLifetime
{
    public RedisProcess Redis { get; private set; } = null!;

    public SimulatorServer Simulator { get; private set; } = null!;

    public SiloProcess Silo { get; private set; } = null!;

    public string QueueName { get; } = LlmClusterOptions.NewQueueName();

    public QueueKeys Keys => new(QueueName);

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("orleansllm-formats-").FullName;

    /// <summary>What the CLI needs to find the cluster.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["Redis__ConnectionString"] = Redis.ConnectionString };

    public async Task InitializeAsync()
    {
        Redis = await RedisProcess.StartAsync();
        Simulator = await SimulatorServer.StartAsync(BatchRequests.Simulator(0));
        Silo = await SiloProcess.StartAsync(new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = Redis.ConnectionString,
            ["Queue:Name"] = QueueName,
            ["Ollama:Url"] = Simulator.Url.ToString(),
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "2",
        });
    }

    public Task<CliRun> CliAsync(params string[] args) => CliProcess.RunAsync(args, Environment);

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Simulator.DisposeAsync();
        await Redis.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
