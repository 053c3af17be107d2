using OllamaSim;

namespace OrleansLlm.Benchmarks;

/// <summary>What a scenario measures, and so how it is run.</summary>
public enum ScenarioKind
{
    /// <summary>A fixed set of backends from start to end; every design the scenario allows, one after the other.</summary>
    Fixed,

    /// <summary>Pods (a silo and its own backend) come and go as KEDA's formula says; D only (see <see cref="ScaleRun"/>).</summary>
    Scale,

    /// <summary>A million items queued, and how long the longest script call takes; D only (see <see cref="MillionRun"/>).</summary>
    Million,

    /// <summary>A batch file through the OpenAI Batch API of two silo processes; D only (see <see cref="ApiRun"/>).</summary>
    Api,

    /// <summary>Per-item cost: a batch through the CLI and two silo processes at time scale 0; D only (see <see cref="Overhead"/>).</summary>
    Overhead,
}

/// <summary>
/// One simulated backend: its slots (OLLAMA_NUM_PARALLEL, or the sequences a continuous-batching server's KV cache
/// holds), hardware speed and capacity curve.
/// </summary>
/// <param name="Parallel">Ollama's slots; with <paramref name="Flavor"/>, the KV cache's sequences (<c>--kv-seqs</c>).</param>
/// <param name="Exponent">The simulator's scaling exponent e for this backend; null: the run's <c>--scaling-exponent</c>.</param>
/// <param name="CliffAt">Past this many computing slots the backend's aggregate throughput falls; null: no cliff.</param>
/// <param name="CliffSlope">Share of the peak's throughput lost per slot past <paramref name="CliffAt"/>.</param>
/// <param name="Flavor">An OpenAI-compatible server (the simulator's <c>--api openai</c>) with this flavor's metrics and timings; null: Ollama.</param>
/// <param name="MaxNumSeqs">With <paramref name="Flavor"/>: vLLM's <c>--max-num-seqs</c>.</param>
/// <param name="StartAtSlots">
/// D's silo beside it starts its controller at <paramref name="Parallel"/> (<c>Worker:InitialConcurrency</c>), as
/// <c>deploy/overlays/gpu</c> starts a GPU pod's silo at its Ollama's <c>OLLAMA_NUM_PARALLEL</c>; false: from 1, the default.
/// </param>
public sealed record BackendSpec(
    int Parallel,
    double Speed,
    double? Exponent = null,
    int? CliffAt = null,
    double CliffSlope = 0,
    ServerFlavor? Flavor = null,
    int MaxNumSeqs = 256,
    bool StartAtSlots = false)
{
    /// <summary>Whether it speaks the OpenAI-compatible API (a continuous-batching server), not Ollama's.</summary>
    public bool OpenAi => Flavor is not null;

    public CapacityCurve Curve(double defaultExponent) => new()
    {
        ScalingExponent = Exponent ?? defaultExponent,
        CliffAt = CliffAt,
        CliffSlope = CliffSlope,
    };

    /// <summary>
    /// Most solo seconds of work per wall second this backend can do, from the simulator's capacity model
    /// (SlotScheduler): with k slots computing they progress together at speed × aggregate(k) / timeScale, so the
    /// most is at the curve's peak: every slot busy without a cliff, the cliff's K with one.
    /// </summary>
    public double Capacity(double speed, double timeScale, double defaultExponent)
    {
        var curve = Curve(defaultExponent);
        return speed * Enumerable.Range(1, Parallel).Max(curve.Aggregate) / timeScale;
    }

    /// <summary>In flight at the peak of the capacity curve: the best fixed limit, in the fluid model.</summary>
    public int Peak(double defaultExponent)
    {
        var curve = Curve(defaultExponent);
        return Enumerable.Range(1, Parallel).MaxBy(curve.Aggregate);
    }

    public override string ToString()
    {
        var text = Flavor is { } flavor
            ? $"OpenAI-compatible ({flavor.ToString().ToLowerInvariant()}): KV cache for {Parallel} sequences, max_num_seqs {MaxNumSeqs} × speed {Speed:0.##}"
            : $"{Parallel} slot{(Parallel == 1 ? "" : "s")} × speed {Speed:0.##}";
        if (Exponent is { } e)
        {
            text += $", e = {e:0.##}";
        }

        if (CliffAt is { } k)
        {
            text += $", throughput peaking at {k} in flight (−{CliffSlope:P0} of it per slot beyond)";
        }

        return StartAtSlots ? text + $" (D starts at {Parallel})" : text;
    }
}

/// <summary>A set of backends, and optionally one of them slowing down once half the items are done.</summary>
/// <param name="Items">Items per run unless <c>--items</c> says otherwise.</param>
/// <param name="TimeScale">The simulators' time scale unless <c>--time-scale</c> says otherwise; null: the run's default.</param>
/// <param name="Designs">The designs this scenario runs; null: every design asked for.</param>
/// <param name="DMaxConcurrency">D's <c>Worker:MaxConcurrency</c> here; null: the run's <c>--d-max-concurrency</c>.</param>
/// <param name="Sweep">Fixed limits per co-located consumer (C-style) also run here, to find the best fixed setting.</param>
/// <param name="TimeoutFactor">A run here gives up after ideal × this + the slack; null: the run's (4).</param>
/// <param name="ServerPerConsumer">C's parallelism beside an OpenAI-compatible server here; null: the run's <c>--server-per-consumer</c>.</param>
/// <param name="SweepOf">The scenario whose sweep this one's D is judged against (the same backends but for what they tell).</param>
public sealed record Scenario(
    string Name,
    string Title,
    IReadOnlyList<BackendSpec> Backends,
    int? SlowBackend = null,
    double SlowDown = 1,
    int Items = 1000,
    double? TimeScale = null,
    IReadOnlyList<string>? Designs = null,
    int? DMaxConcurrency = null,
    IReadOnlyList<int>? Sweep = null,
    double? TimeoutFactor = null,
    ScenarioKind Kind = ScenarioKind.Fixed,
    int? ServerPerConsumer = null,
    string? SweepOf = null)
{
    public static readonly Scenario Homogeneous = new("homogeneous", "Homogeneous: 4 backends × 2 slots",
        [new(2, 1), new(2, 1), new(2, 1), new(2, 1)]);

    public static readonly Scenario Heterogeneous = new("heterogeneous", "Heterogeneous: 2 fast 4-slot backends (speed 4), 2 slow 1-slot ones (speed 1)",
        [new(4, 4), new(4, 4), new(1, 1), new(1, 1)]);

    public static readonly Scenario SlowDownHalfway = new("slowdown", "Slow-down: 4 backends × 2 slots, backend 0 becomes 3× slower when half the items are done",
        [new(2, 1), new(2, 1), new(2, 1), new(2, 1)], SlowBackend: 0, SlowDown: 3);

    /// <summary>
    /// Two GPU Ollamas (OLLAMA_NUM_PARALLEL 32, nearly linear scaling) beside two CPU ones. D's cap is set above 32 so
    /// the controller, not the cap, finds the knee. Their silos start at the 32 slots, as the gpu overlay configures
    /// a GPU pod (<c>Worker__InitialConcurrency</c> = <c>OLLAMA_NUM_PARALLEL</c>); the CPU ones climb from 1, as the
    /// cpu overlay's do. Climbing from 1 by doubling, a 32-slot backend idles (31+30+28+24+16) slot-service-times
    /// before it is full: 3% of an 8,000-item run at time scale 0.01. 8,000 items at time scale 0.02, like the other scenarios: about 120
    /// service times of a 32-slot backend. At 0.01 the run asked 370 items/s of this 2-core machine, and the moment
    /// between an answer and the next lease (a Redis round trip and a grain turn) left 2–3% of the slots idle even
    /// where the limit sat at 32 throughout; a real GPU answer takes seconds, not 0.17 s. The fixed designs, set for
    /// CPUs (2 in flight per backend), take 8–10× the ideal here, so they get a longer timeout.
    /// </summary>
    public static readonly Scenario Gpu = new("gpu", "GPU: 2 backends × 32 slots (e = 0.9) beside 2 CPU backends × 2 slots",
        [new(32, 1, Exponent: 0.9, StartAtSlots: true), new(32, 1, Exponent: 0.9, StartAtSlots: true), new(2, 1), new(2, 1)],
        Items: 8000, TimeScale: 0.02, DMaxConcurrency: 64, TimeoutFactor: 16);

    /// <summary>
    /// Four 16-slot backends whose throughput peaks at 6 in flight and falls 5% of the peak per slot beyond (memory
    /// pressure). The sweep runs C's co-located consumers at fixed limits to find the best fixed setting in this run.
    /// </summary>
    public static readonly Scenario Cliff = new("cliff", "Cliff: 4 backends × 16 slots whose throughput peaks at 6 in flight",
        [.. Enumerable.Repeat(new BackendSpec(16, 1, Exponent: 0.9, CliffAt: 6, CliffSlope: 0.05), 4)],
        Items: 1200, Sweep: [2, 4, 6, 8, 12, 16]);

    /// <summary>
    /// Two continuous-batching servers (vLLM: KV cache for 48 sequences, max_num_seqs 256, e = 0.9) beside two 2-slot
    /// CPU Ollamas. D's silos run Backend:Kind OpenAi against the vLLM ones and read their waiting gauge from /metrics;
    /// Worker:MaxConcurrency 256 is nothing tuned, just far above. The sweep runs C's consumers beside the vLLM servers
    /// (speaking the OpenAI API) at fixed limits, those beside the CPUs at their 2 slots; C's own run is the sweep's 48. 4,000 items at time scale 0.04:
    /// a vLLM answer at 48 in flight takes about 0.7 s, so a run is about 40 of them, and the whole scenario, the
    /// slow fixed 16 included, stays under six minutes on 2 cores.
    /// </summary>
    public static readonly Scenario Vllm = new("vllm", "vLLM: 2 continuous-batching servers (KV cache for 48 sequences, e = 0.9) beside 2 CPU backends × 2 slots",
        [VllmBackend(ServerFlavor.Vllm), VllmBackend(ServerFlavor.Vllm), new(2, 1), new(2, 1)],
        Items: 4000, TimeScale: 0.04, Designs: ["C", "D"], DMaxConcurrency: 256, Sweep: [16, 32, 48, 64, 96, 128], ServerPerConsumer: 48);

    /// <summary>
    /// The vllm scenario's servers exporting no metrics and no timings (the simulator's flavor <c>plain</c>): D's
    /// controller has only latency to go by (the latency rule). D only; judged against the vllm scenario's sweep (the
    /// same compute), so run them together: <c>--scenario vllm,vllm-plain</c>. 10,000 items, about 100 service times:
    /// the rule's climb judges each doubling on a window of answers, about two service times, so it takes some 15 of
    /// them to settle, which in the vllm scenario's 40 would weigh on the whole run more than on any real batch.
    /// </summary>
    public static readonly Scenario VllmPlain = new("vllm-plain", "vLLM without metrics: the vllm scenario's servers exporting no waiting count and no timings (the latency rule)",
        [VllmBackend(ServerFlavor.Plain), VllmBackend(ServerFlavor.Plain), new(2, 1), new(2, 1)],
        Items: 10_000, TimeScale: 0.04, Designs: ["D"], DMaxConcurrency: 256, SweepOf: "vllm");

    /// <summary>
    /// Pods of one silo and one 2-slot CPU backend each, scaled by KEDA's formula from 1 to 6 and back down while
    /// 3,000 items drain; see <see cref="ScaleRun"/>.
    /// </summary>
    public static readonly Scenario Scale = new("scale", "Scale: KEDA's formula takes pods (a silo and its 2-slot backend) from 1 to 6 and back down, drains on the way down",
        [new(2, 1)], Items: 3000, Designs: ["D"], Kind: ScenarioKind.Scale);

    /// <summary>The whole data set through D at a fast time scale: the README's headline.</summary>
    public static readonly Scenario Full = new("full", "Full data set: every city through D, 4 backends × 4 slots",
        [new(4, 1), new(4, 1), new(4, 1), new(4, 1)], Items: Workload.AllRows, TimeScale: 0.001, Designs: ["D"]);

    /// <summary>
    /// A million queued items (the file's rows again past its end), a 50k batch of a model no silo serves and a 50k
    /// batch cancelled while two silos lease at time scale 0; see <see cref="MillionRun"/>.
    /// </summary>
    public static readonly Scenario Million = new("million", "A million queued items: 900k of one batch, 50k of a model no silo serves, 50k cancelled; 2 silos at time scale 0",
        [new(16, 1), new(16, 1)], Items: Workload.AllRows, Designs: ["D"], Kind: ScenarioKind.Million);

    /// <summary>
    /// The whole data set as an OpenAI batch file through the official .NET SDK and the Batch API of 2 silo processes,
    /// each beside a 32-slot simulator (<c>--d-max-concurrency</c> sets both); see <see cref="ApiRun"/>.
    /// </summary>
    public static readonly Scenario Api = new("api", "OpenAI Batch API: the whole data set as a batch file through 2 silo processes",
        [new(32, 1), new(32, 1)], Items: Workload.AllRows, TimeScale: 0.001, Designs: ["D"], DMaxConcurrency: 32, Kind: ScenarioKind.Api);

    /// <summary>
    /// 20,000 cities as one batch through the CLI process and 2 silo processes, each beside a 16-slot simulator at time
    /// scale 0: Redis commands, Redis CPU and silo CPU per item, and the items per second this machine allows; see <see cref="Overhead"/>.
    /// </summary>
    public static readonly Scenario Overhead = new("overhead", "Per-item cost: one batch through the CLI and 2 silo processes, Ollama answering at once",
        [new(Benchmarks.Overhead.Slots, 1), new(Benchmarks.Overhead.Slots, 1)], Items: 20_000, Designs: ["D"], Kind: ScenarioKind.Overhead);

    public static readonly IReadOnlyList<Scenario> All = [Homogeneous, Heterogeneous, SlowDownHalfway, Gpu, Cliff, Vllm, VllmPlain, Scale, Full, Million, Api, Overhead];

    public static readonly IReadOnlyList<string> Names = All.Select(s => s.Name).ToArray();

    public static Scenario Named(string name) => All.Single(s => s.Name == name);

    /// <summary>A vLLM-like server: KV cache for 48 sequences, max_num_seqs 256, nearly linear batching (e = 0.9).</summary>
    private static BackendSpec VllmBackend(ServerFlavor flavor) => new(48, 1, Exponent: 0.9, Flavor: flavor);

    /// <summary>How many results trigger the slow-down: half the items, rounded up.</summary>
    public static int SlowDownAt(int items) => (items + 1) / 2;

    /// <summary>The options this scenario runs with: its own item count, time scale and D cap unless the command line set them.</summary>
    public BenchmarkOptions Apply(BenchmarkOptions options) => options with
    {
        Items = Kind == ScenarioKind.Overhead && options.OverheadItems is { } overhead ? overhead : options.ItemsSet ? options.Items : Items,
        TimeScale = options.TimeScaleSet ? options.TimeScale : TimeScale ?? options.TimeScale,
        DMaxConcurrency = options.DMaxConcurrencySet ? options.DMaxConcurrency : DMaxConcurrency ?? options.DMaxConcurrency,
        ServerPerConsumer = options.ServerPerConsumer ?? ServerPerConsumer,
        TimeoutFactor = Math.Max(options.TimeoutFactor, TimeoutFactor ?? 0),
    };

    /// <summary>Total capacity (solo seconds per wall second) with backend speeds as given.</summary>
    private double TotalCapacity(Func<int, double> speedOf, double timeScale, double exponent) =>
        Backends.Select((b, i) => b.Capacity(speedOf(i), timeScale, exponent)).Sum();

    /// <summary>
    /// The shortest makespan any design could reach: all the work flowing into every slot of every backend with no
    /// gap (a fluid model, blind to the granularity of items). With a slow-down, the first
    /// <see cref="SlowDownAt"/>/N of the work runs at the full capacity and the rest at the reduced one, since the
    /// slow-down is triggered by the count of finished items, whatever the design.
    /// </summary>
    public double IdealSeconds(double totalSoloSeconds, int items, double timeScale, double exponent)
    {
        var full = TotalCapacity(i => Backends[i].Speed, timeScale, exponent);
        if (SlowBackend is not { } slow)
        {
            return totalSoloSeconds / full;
        }

        var reduced = TotalCapacity(i => i == slow ? Backends[i].Speed / SlowDown : Backends[i].Speed, timeScale, exponent);
        var before = totalSoloSeconds * SlowDownAt(items) / items;
        return before / full + (totalSoloSeconds - before) / reduced;
    }
}
