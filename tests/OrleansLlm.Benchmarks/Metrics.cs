namespace OrleansLlm.Benchmarks;

/// <summary>What one design achieved in one scenario. Times in wall seconds.</summary>
public sealed record RunResult
{
    public required string Scenario { get; init; }
    public required string Design { get; init; }
    public required string Description { get; init; }
    public required int Items { get; init; }

    /// <summary>The simulators' time scale in this run.</summary>
    public double TimeScale { get; init; } = double.NaN;

    /// <summary>A row of the scenario's sweep: C's co-located consumers at this fixed parallelism each; null for A–D themselves.</summary>
    public int? FixedLimit { get; init; }

    /// <summary>First push → last result; when the run timed out, first push → giving up.</summary>
    public required double MakespanSeconds { get; init; }
    public required bool TimedOut { get; init; }
    public required double IdealSeconds { get; init; }

    /// <summary>Σ busySlotSeconds ÷ Σ (parallel × makespan), over every backend.</summary>
    public required double Utilisation { get; init; }

    /// <summary>Merged over every backend's requests (see CallRecorder).</summary>
    public required Summary QueueWait { get; init; }

    /// <summary>The simulators' own figures, to cross-check <see cref="QueueWait"/>: Σ sum ÷ Σ count, and the largest per-backend p99.</summary>
    public required double SimulatorQueueWaitMean { get; init; }
    public required double SimulatorQueueWaitMaxP99 { get; init; }

    /// <summary>Push → result of each item that got one.</summary>
    public required Summary EndToEnd { get; init; }

    /// <summary>Items without a result when the run ended.</summary>
    public required int Lost { get; init; }

    /// <summary>Ollama calls served beyond one per item with a result: Σ served − results (never below 0).</summary>
    public required long ExtraCalls { get; init; }

    /// <summary>Results written a second time for the same item (the duplicates counter).</summary>
    public required long DuplicateResults { get; init; }

    /// <summary>Share of the calls each backend served, in backend order.</summary>
    public required IReadOnlyList<long> ServedPerBackend { get; init; }

    /// <summary>Each backend's busy-slot seconds ÷ (its slots × makespan), in backend order.</summary>
    public IReadOnlyList<double> UtilisationPerBackend { get; init; } = [];

    /// <summary>
    /// The acceptance check on queueing: p99 queue wait ÷ median service time (prompt + generation), over every
    /// request. At most 1 means 99% of requests waited in Ollama less than one typical service time.
    /// </summary>
    public double WaitP99OverService { get; init; } = double.NaN;

    /// <summary>The same ratio per backend (its own waits ÷ its own median service time), in backend order.</summary>
    public IReadOnlyList<double> WaitP99OverServicePerBackend { get; init; } = [];

    /// <summary>Each backend's p99 wait in its own queue, from the simulator (OpenAI-compatible answers tell none), in backend order.</summary>
    public IReadOnlyList<double> ServerQueueP99PerBackend { get; init; } = [];

    /// <summary>Each backend's mean service time (its busy slot-seconds ÷ the requests it served), from the simulator, in backend order.</summary>
    public IReadOnlyList<double> ServiceMeanPerBackend { get; init; } = [];

    /// <summary>The whole run, with start-up and shutdown.</summary>
    public required double WallSeconds { get; init; }

    /// <summary>Each backend's answers per second over the makespan, in backend order.</summary>
    public IReadOnlyList<double> ItemsPerSecondPerBackend { get; init; } = [];

    /// <summary>
    /// Each backend's answers per second from half the makespan to nine tenths of it, in backend order: its pace once
    /// settled, before the tail, where the last items leave slots idle whatever the design.
    /// </summary>
    public IReadOnlyList<double> SettledItemsPerSecondPerBackend { get; init; } = [];

    /// <summary>D: each backend's concurrency limit, sampled once a second from start-up, in backend order; null for the others.</summary>
    public IReadOnlyList<IReadOnlyList<int>>? Limits { get; init; }

    /// <summary>How fast each backend got its peak's worth of requests in flight, in backend order.</summary>
    public IReadOnlyList<SlotFill> Fill { get; init; } = [];

    /// <summary>Where each backend's idle slot-seconds went (wake, climb, middle, tail), in backend order.</summary>
    public IReadOnlyList<LossSplit> Loss { get; init; } = [];

    /// <summary>Push → the ready list first seen empty (polled every 50 ms); null if never.</summary>
    public double? QueueEmptySeconds { get; init; }

    /// <summary>Per backend, the derived queue waits next to the simulator's own (stderr only: a check of the method).</summary>
    public IReadOnlyList<string> WaitsPerBackend { get; init; } = [];

    /// <summary>Why the run failed outright (everything then counts as lost), or null.</summary>
    public string? Error { get; init; }

    public double Ratio => MakespanSeconds / IdealSeconds;

    public double ItemsPerSecond => (Items - Lost) / MakespanSeconds;
}

/// <summary>How fast one backend was filled: from its first request to the first moment its peak's worth were in flight.</summary>
/// <param name="Peak">In flight at the peak of the backend's capacity curve: its slots, or its cliff.</param>
/// <param name="FirstItemSeconds">Push → the first request sent to it; null if none was.</param>
/// <param name="ReachedSeconds">Push → the first moment <paramref name="Peak"/> requests were in flight there; null if never.</param>
/// <param name="ServiceSeconds">Its median service time (prompt + generation) over the run.</param>
public sealed record SlotFill(int Peak, double? FirstItemSeconds, double? ReachedSeconds, double ServiceSeconds)
{
    /// <summary>First item → peak in flight, in the backend's service times; null if never reached.</summary>
    public double? ServiceTimes => ReachedSeconds - FirstItemSeconds is { } climb ? climb / ServiceSeconds : null;
}

/// <summary>p50 and p99 of a sample, nearest-rank as the simulator computes them; NaN when empty.</summary>
public sealed record Summary(int Count, double P50, double P99, double Mean)
{
    public static readonly Summary Empty = new(0, double.NaN, double.NaN, double.NaN);

    public static Summary Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? Empty : new Summary(sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted.Average());
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
