using OllamaSim;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>The simulated Ollama servers of one design run, in-process over real HTTP; fresh for every run.</summary>
public sealed class Backends : IAsyncDisposable
{
    private readonly List<SimulatorServer> _servers;

    private Backends(List<SimulatorServer> servers) => _servers = servers;

    public IReadOnlyList<SimulatorServer> Servers => _servers;

    public IReadOnlyList<Uri> Urls => _servers.Select(s => s.Url).ToArray();

    public static async Task<Backends> StartAsync(Scenario scenario, BenchmarkOptions options, CancellationToken cancellationToken)
    {
        var servers = new List<SimulatorServer>();
        try
        {
            foreach (var spec in scenario.Backends)
            {
                servers.Add(await SimulatorServer.StartAsync(new SimulatorOptions
                {
                    Parallel = spec.Parallel,
                    Speed = spec.Speed,
                    TimeScale = options.TimeScale,
                    ScalingExponent = options.ScalingExponent,
                    Seed = options.Seed,
                }, cancellationToken: cancellationToken));
            }

            return new Backends(servers);
        }
        catch
        {
            await DisposeAllAsync(servers);
            throw;
        }
    }

    /// <summary>Zeroes busy-slot seconds, counters and queue waits: called just before the items are pushed.</summary>
    public void ResetStats()
    {
        foreach (var server in _servers)
        {
            server.ResetStats();
        }
    }

    public IReadOnlyList<SimulatorStats> Stats() => _servers.Select(s => s.GetStats()).ToArray();

    public ValueTask DisposeAsync() => DisposeAllAsync(_servers);

    private static async ValueTask DisposeAllAsync(List<SimulatorServer> servers)
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }
    }
}
