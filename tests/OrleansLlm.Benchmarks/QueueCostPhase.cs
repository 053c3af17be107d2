namespace OrleansLlm.Benchmarks;

/// <summary>One phase of <see cref="QueueCost"/>: Redis' CPU (<c>used_cpu_user + used_cpu_sys</c>), its script calls and commands (those inside scripts included), and the wall time.</summary>
public sealed record QueueCostPhase(int Items, double CpuSeconds, long ScriptCalls, long Commands, double Seconds)
{
    public double MicrosecondsPerItem => CpuSeconds * 1e6 / Items;

    public double MicrosecondsPerCall => ScriptCalls == 0 ? 0 : CpuSeconds * 1e6 / ScriptCalls;

    public double CommandsPerItem => (double)Commands / Items;
}
