using OllamaSim;
using Orleans.TestingHost;

namespace OrleansLlm.Benchmarks;

/// <summary>One pod of the scale scenario while it runs: a silo, the simulator beside it, and when things happened to it.</summary>
internal sealed class ScalePod(int index, SimulatorServer backend)
{
    public int Index { get; } = index;

    public SimulatorServer Backend { get; } = backend;

    public InProcessSiloHandle? Silo { get; set; }

    /// <summary>When the pod was asked for (the simulator starts first, as the Ollama container would).</summary>
    public DateTimeOffset RequestedAt { get; init; }

    /// <summary>When its silo was Active, its worker started: StartAdditionalSiloAsync (or DeployAsync) returned.</summary>
    public DateTimeOffset? ActiveAt { get; set; }

    public DateTimeOffset? StopRequestedAt { get; set; }

    /// <summary>When StopSiloAsync returned: drained and out of the cluster.</summary>
    public DateTimeOffset? ExitedAt { get; set; }

    /// <summary>The simulator's busy-slot seconds when the pod's measured window opened.</summary>
    public double BusyAtStart { get; set; }

    /// <summary>The simulator's busy-slot seconds when the pod exited, or at the end of the run.</summary>
    public double? BusyAtEnd { get; set; }

    public long Served { get; set; }
}
