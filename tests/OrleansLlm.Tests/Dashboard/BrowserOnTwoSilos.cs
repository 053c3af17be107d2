using OllamaSim;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Dashboard;

/// <summary>
/// What the browser tests look at: two real silo processes, each beside its own simulator, on a queue of their own in
/// the tests' Redis (a fixed two requests at a time per silo), and Debian's chromium. Disposing closes the browser,
/// then stops the silos.
/// </summary>
public sealed class BrowserOnTwoSilos : IAsyncDisposable
{
    private readonly ProcessReplicaSet _silos;

    private BrowserOnTwoSilos(string queue, ProcessReplicaSet silos, Task<Chromium> chromium)
    {
        Queue = queue;
        _silos = silos;
        Chromium = chromium;
    }

    public string Queue { get; }

    public OrleansLlm.Queue.QueueKeys Keys => new(Queue);

    public IReadOnlyList<SiloProcess> Silos => _silos.Running;

    /// <summary>The browser, launched while the silos start: await it for the first page.</summary>
    public Task<Chromium> Chromium { get; }

    /// <summary>
    /// Starts both silos and, meanwhile, the browser (both take seconds, and neither needs the other until the first
    /// page); returns once the silos are ready.
    /// </summary>
    public static async Task<BrowserOnTwoSilos> StartAsync(RedisServer redis, Func<SimulatorOptions> simulator)
    {
        var queue = LlmClusterOptions.NewQueueName();
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Orleans:ClusterId"] = queue,
            ["Queue:Name"] = queue,
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "2",
        };
        var started = new BrowserOnTwoSilos(queue, new ProcessReplicaSet(simulator, settings), Infrastructure.Chromium.LaunchAsync());
        try
        {
            await Task.WhenAll(started._silos.ScaleUpAsync(), started._silos.ScaleUpAsync());
            return started;
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await (await Chromium).DisposeAsync();
        }
        finally
        {
            await _silos.DisposeAsync();
        }
    }
}
