namespace OrleansLlm.Benchmarks;

/// <summary>One simulated Ollama backend: its slots (OLLAMA_NUM_PARALLEL) and hardware speed.</summary>
public sealed record BackendSpec(int Parallel, double Speed)
{
    /// <summary>
    /// Most solo seconds of work per wall second this backend can do, from the simulator's capacity model
    /// (SlotScheduler): with k slots computing each progresses at speed × k^(e−1) / timeScale, so the aggregate
    /// speed × k^e / timeScale is largest with every slot busy.
    /// </summary>
    public double Capacity(double speed, double timeScale, double exponent) => speed * Math.Pow(Parallel, exponent) / timeScale;

    public override string ToString() => $"{Parallel} slot{(Parallel == 1 ? "" : "s")} × speed {Speed:0.##}";
}

/// <summary>A set of backends, and optionally one of them slowing down once half the items are done.</summary>
public sealed record Scenario(string Name, string Title, IReadOnlyList<BackendSpec> Backends, int? SlowBackend = null, double SlowDown = 1)
{
    public static readonly Scenario Homogeneous = new("homogeneous", "Homogeneous: 4 backends × 2 slots",
        [new(2, 1), new(2, 1), new(2, 1), new(2, 1)]);

    public static readonly Scenario Heterogeneous = new("heterogeneous", "Heterogeneous: 2 fast 4-slot backends (speed 4), 2 slow 1-slot ones (speed 1)",
        [new(4, 4), new(4, 4), new(1, 1), new(1, 1)]);

    public static readonly Scenario SlowDownHalfway = new("slowdown", "Slow-down: 4 backends × 2 slots, backend 0 becomes 3× slower when half the items are done",
        [new(2, 1), new(2, 1), new(2, 1), new(2, 1)], SlowBackend: 0, SlowDown: 3);

    public static readonly IReadOnlyList<Scenario> All = [Homogeneous, Heterogeneous, SlowDownHalfway];

    public static readonly IReadOnlyList<string> Names = All.Select(s => s.Name).ToArray();

    public static Scenario Named(string name) => All.Single(s => s.Name == name);

    /// <summary>How many results trigger the slow-down: half the items, rounded up.</summary>
    public static int SlowDownAt(int items) => (items + 1) / 2;

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
