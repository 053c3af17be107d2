namespace OllamaSim;

/// <summary>Distribution of the time requests spent queued for a slot (0 for requests that found a free slot).</summary>
public sealed record QueueWaitStats
{
    public int Count { get; init; }
    public double Sum { get; init; }
    public double P50 { get; init; }
    public double P99 { get; init; }

    public static QueueWaitStats From(double[] samples)
    {
        if (samples.Length == 0)
        {
            return new QueueWaitStats();
        }

        Array.Sort(samples);
        return new QueueWaitStats
        {
            Count = samples.Length,
            Sum = samples.Sum(),
            P50 = Percentile(samples, 0.50),
            P99 = Percentile(samples, 0.99),
        };
    }

    // Nearest-rank percentile: always an observed value, no interpolation surprises in small samples.
    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>State and accumulated statistics of a <see cref="SlotScheduler"/>.</summary>
public sealed record SchedulerStats
{
    public int Parallel { get; init; }
    public int BusySlots { get; init; }
    public int QueueDepth { get; init; }

    /// <summary>Slots currently computing (busy slots minus those idle between steps or hung).</summary>
    public int ComputingSlots { get; init; }

    /// <summary>Integral of busy slots over wall time since the last reset.</summary>
    public double BusySlotSeconds { get; init; }

    /// <summary>Wall time since start or the last reset.</summary>
    public double ElapsedSeconds { get; init; }

    public double Speed { get; init; }
    public double TimeScale { get; init; }
    public double ScalingExponent { get; init; }

    /// <summary>See <see cref="CapacityCurve.CliffAt"/>; null without a cliff.</summary>
    public int? CliffAt { get; init; }

    public double CliffSlope { get; init; }
    public double CliffFloor { get; init; }
    public QueueWaitStats QueueWaitSeconds { get; init; } = new();
}

/// <summary>What <c>GET /sim/stats</c> returns (camelCase JSON).</summary>
public sealed record SimulatorStats
{
    public int Parallel { get; init; }
    public int BusySlots { get; init; }
    public int QueueDepth { get; init; }

    /// <summary>Generate and chat requests received (including ones rejected by faults or for unknown models).</summary>
    public long Received { get; init; }

    /// <summary>Requests answered completely, ending with <c>"done":true</c>.</summary>
    public long Served { get; init; }

    /// <summary>Requests that ended any other way: HTTP errors, injected faults, client disconnects.</summary>
    public long Failed { get; init; }

    /// <summary>Received but not yet ended: Received = Served + Failed + InFlight.</summary>
    public long InFlight { get; init; }

    /// <summary>Integral of busy slots over wall time; utilisation = BusySlotSeconds / (Parallel × ElapsedSeconds).</summary>
    public double BusySlotSeconds { get; init; }

    public double ElapsedSeconds { get; init; }
    public double Utilisation { get; init; }
    public QueueWaitStats QueueWaitSeconds { get; init; } = new();
    public double ModelTimeScale { get; init; }
    public double Speed { get; init; }
    public double ScalingExponent { get; init; }

    /// <summary>K of the capacity curve's cliff; null without a cliff. See <see cref="CapacityCurve"/>.</summary>
    public int? CliffAt { get; init; }

    public double CliffSlope { get; init; }
    public double CliffFloor { get; init; }
}

/// <summary>Thread-safe request counters behind <see cref="SimulatorStats"/>.</summary>
internal sealed class RequestCounters
{
    private long _received;
    private long _served;
    private long _failed;

    public void Received() => Interlocked.Increment(ref _received);

    public void Served() => Interlocked.Increment(ref _served);

    public void Failed() => Interlocked.Increment(ref _failed);

    public (long Received, long Served, long Failed) Read()
    {
        // Read the outcomes before the arrivals so InFlight never comes out negative.
        var served = Interlocked.Read(ref _served);
        var failed = Interlocked.Read(ref _failed);
        return (Interlocked.Read(ref _received), served, failed);
    }

    /// <summary>
    /// Zeroes the counters, carrying requests still in flight over as already received so that
    /// Received = Served + Failed + InFlight keeps holding after a reset.
    /// </summary>
    public void Reset()
    {
        var (received, served, failed) = Read();
        var inFlight = Math.Max(0, received - served - failed);
        Interlocked.Add(ref _received, inFlight - received);
        Interlocked.Add(ref _served, -served);
        Interlocked.Add(ref _failed, -failed);
    }
}
