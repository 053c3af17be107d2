using OllamaSim;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// Replicas as real silo processes, each beside its own simulator: scale-down sends SIGTERM to the newest and waits
/// for it to drain and exit, as Kubernetes does to the pod a ReplicaSet removes.
/// </summary>
public sealed class ProcessReplicaSet(Func<SimulatorOptions> simulator, IReadOnlyDictionary<string, string> settings) : IAsyncDisposable
    , IReplicaSet
{
    private readonly List<(SiloProcess Silo, SimulatorServer Simulator)> _all = [];
    private readonly List<SiloProcess> _running = [];
    private readonly Lock _gate = new();

    public int Replicas
    {
        get
        {
            lock (_gate)
            {
                return _running.Count;
            }
        }
    }

    public IReadOnlyList<SiloProcess> Running
    {
        get
        {
            lock (_gate)
            {
                return _running.ToArray();
            }
        }
    }

    public IReadOnlyList<(SiloProcess Silo, SimulatorServer Simulator)> All
    {
        get
        {
            lock (_gate)
            {
                return _all.ToArray();
            }
        }
    }

    /// <summary>The longest SIGTERM-to-exit of a scale-down so far.</summary>
    public TimeSpan LongestTermination { get; private set; }

    public async Task ScaleUpAsync()
    {
        var sim = await SimulatorServer.StartAsync(simulator());
        var all = new Dictionary<string, string>(settings) { ["Ollama:Url"] = sim.Url.ToString() };
        var silo = await SiloProcess.StartAsync(all);
        lock (_gate)
        {
            _all.Add((silo, sim));
            _running.Add(silo);
        }
    }

    public async Task ScaleDownAsync()
    {
        SiloProcess newest;
        lock (_gate)
        {
            newest = _running[^1];
            _running.RemoveAt(_running.Count - 1);
        }

        var took = await newest.TerminateAsync(TimeSpan.FromSeconds(60));
        LongestTermination = took > LongestTermination ? took : LongestTermination;
    }

    /// <summary>SIGKILLs a replica; like a ReplicaSet, the set no longer counts it.</summary>
    public void Kill(SiloProcess silo)
    {
        lock (_gate)
        {
            _running.Remove(silo);
        }

        silo.Kill();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (silo, sim) in All)
        {
            await silo.DisposeAsync();
            await sim.DisposeAsync();
        }
    }
}
