using OllamaSim;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>The simulated servers (Ollama, or OpenAI-compatible) of one design run, in-process over real HTTP; fresh for every run.</summary>
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
                servers.Add(await StartOneAsync(spec, options, cancellationToken));
            }

            return new Backends(servers);
        }
        catch
        {
            await DisposeAllAsync(servers);
            throw;
        }
    }

    /// <summary>One simulator as the spec says, at the run's time scale.</summary>
    public static Task<SimulatorServer> StartOneAsync(BackendSpec spec, BenchmarkOptions options, CancellationToken cancellationToken)
    {
        var curve = spec.Curve(options.ScalingExponent);
        return SimulatorServer.StartAsync(new SimulatorOptions
        {
            Api = spec.OpenAi ? SimulatorApi.OpenAI : SimulatorApi.Ollama,
            Flavor = spec.Flavor ?? ServerFlavor.Vllm,
            Parallel = spec.OpenAi ? 1 : spec.Parallel,
            KvSeqs = spec.OpenAi ? spec.Parallel : null,
            MaxNumSeqs = spec.MaxNumSeqs,
            Speed = spec.Speed,
            TimeScale = options.TimeScale,
            ScalingExponent = curve.ScalingExponent,
            CliffAt = curve.CliffAt,
            CliffSlope = curve.CliffSlope,
            Seed = options.Seed,
        }, cancellationToken: cancellationToken);
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
