using OrleansLlm.Benchmarks.Infrastructure;

namespace OrleansLlm.Benchmarks;

/// <summary>
/// What one per-item cost run measured: N cities through 2 silo processes of one build, with Ollama answering at
/// once, so only OrleansLlm's own cost remains.
/// </summary>
/// <param name="Build">Which silo and CLI (<see cref="SiloBuild.Name"/>).</param>
/// <param name="Redis">"single" (one redis-server) or "cluster" (3 masters).</param>
/// <param name="Shards">The silos' <c>Queue:Shards</c>.</param>
/// <param name="Round">Which repetition (<c>--repeat</c>), from 1.</param>
/// <param name="Items">Different ids submitted: one result each is expected.</param>
/// <param name="Seconds">CLI start → the last result's <c>completed_at</c>.</param>
/// <param name="CliSeconds">CLI start → the CLI's exit (it polls the batch every 0.5 s).</param>
/// <param name="Masters">What the run cost each Redis master, over the CLI's whole life.</param>
/// <param name="HarnessCpuSeconds">The harness process: the two in-process simulators, mostly.</param>
/// <param name="Missing">Ids submitted without a result.</param>
/// <param name="Duplicated">Result lines of an id already seen.</param>
/// <param name="ExtraCalls">Ollama answers beyond one per result: an item done twice.</param>
public sealed record OverheadResult(
    string Build, string Redis, int Shards, int Round, int Items, double Seconds, double CliSeconds, IReadOnlyList<RedisCounters> Masters,
    double SiloCpuSeconds, double CliCpuSeconds, double HarnessCpuSeconds, int Missing, int Duplicated, long ExtraCalls, string Load, string? Error = null)
{
    /// <summary>Seconds the silos' JIT spent compiling during the measured batch (the compiler's wall time, on a background thread).</summary>
    public double SiloJitSeconds { get; init; }

    /// <summary>Methods the silos' JIT compiled during the measured batch.</summary>
    public double SiloJitMethods { get; init; }

    /// <summary>Bytes the silos allocated during the measured batch: steadier than CPU time on a busy machine.</summary>
    public double SiloAllocatedBytes { get; init; }

    /// <summary>
    /// Context switches of the silos' live threads during the measured batch (<see cref="CpuTime.ContextSwitches"/>):
    /// each is mostly a thread woken again, what a hand-off costs.
    /// </summary>
    public long SiloContextSwitches { get; init; }

    /// <summary>Warm-up batches of <see cref="Overhead.WarmUpItems"/> that ran before, until the silos' JIT settled.</summary>
    public int WarmUps { get; init; }

    public bool Failed => Error is not null || Missing > 0 || Duplicated > 0 || ExtraCalls > 0;

    public double ItemsPerSecond => Items / Seconds;

    public double RedisCpuSeconds => Masters.Sum(m => m.CpuSeconds);

    public double RedisCommandsPerItem => (double)Masters.Sum(m => m.Commands) / Items;

    public double ScriptCallsPerItem => (double)Masters.Sum(m => m.Scripts) / Items;

    public double RedisMicrosecondsPerItem => RedisCpuSeconds * 1e6 / Items;

    public double SiloMicrosecondsPerItem => SiloCpuSeconds * 1e6 / Items;

    public double CliMicrosecondsPerItem => CliCpuSeconds * 1e6 / Items;

    public double SiloKilobytesPerItem => SiloAllocatedBytes / 1024 / Items;

    public double SiloContextSwitchesPerItem => (double)SiloContextSwitches / Items;

    /// <summary>Each master's share of the Redis CPU, in <see cref="Masters"/>' order.</summary>
    public IReadOnlyList<double> CpuShares => Masters.Select(m => m.CpuSeconds / RedisCpuSeconds).ToArray();

    /// <summary>Each master's share of the Redis commands.</summary>
    public IReadOnlyList<double> CommandShares => Masters.Select(m => (double)m.Commands / Masters.Sum(x => x.Commands)).ToArray();

    public static OverheadResult Failure(string build, string redis, int shards, int round, int items, string load, string error) =>
        new(build, redis, shards, round, items, double.NaN, double.NaN, [], double.NaN, double.NaN, double.NaN, items, 0, 0, load, error);
}
