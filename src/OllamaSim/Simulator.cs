namespace OllamaSim;

/// <summary>The simulator's state, shared by the HTTP endpoints and the in-process API. No static state.</summary>
internal sealed class Simulator : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public Simulator(SimulatorOptions options)
    {
        options.Validate();
        Options = options;
        Time = options.TimeProvider;
        Scheduler = new SlotScheduler(options.Slots, options.Curve, options.TimeScale, options.Speed, Time);
        Models = new ModelRegistry(Time, options.EffectiveModels, options.ModelKey);
        Faults = new FaultInjector(options.Faults, options.Seed);
        Requests = new RequestLog(options.RequestLogCapacity, Time);
    }

    public SimulatorOptions Options { get; }

    public TimeProvider Time { get; }

    public SlotScheduler Scheduler { get; }

    public ModelRegistry Models { get; }

    public FaultInjector Faults { get; }

    public RequestCounters Counters { get; } = new();

    /// <summary>Tokens and time of finished work, for the OpenAI mode's /metrics.</summary>
    public ServedTokens Tokens { get; } = new();

    public RequestLog Requests { get; }

    /// <summary>
    /// Cancelled when the simulator is disposed. Requests also stop with the web host serving them
    /// (<see cref="IHostApplicationLifetime.ApplicationStopping"/>), which can stop and start again while this lives on.
    /// </summary>
    public CancellationToken Stopping => _stopping.Token;

    public SimulatorStats GetStats()
    {
        var (received, served, failed) = Counters.Read();
        var s = Scheduler.GetStats();
        return new SimulatorStats
        {
            Parallel = s.Parallel,
            BusySlots = s.BusySlots,
            QueueDepth = s.QueueDepth,
            Received = received,
            Served = served,
            Failed = failed,
            InFlight = Math.Max(0, received - served - failed),
            BusySlotSeconds = s.BusySlotSeconds,
            ElapsedSeconds = s.ElapsedSeconds,
            Utilisation = s.ElapsedSeconds > 0 ? s.BusySlotSeconds / (s.Parallel * s.ElapsedSeconds) : 0,
            QueueWaitSeconds = s.QueueWaitSeconds,
            ModelTimeScale = s.TimeScale,
            Speed = s.Speed,
            ScalingExponent = s.ScalingExponent,
            CliffAt = s.CliffAt,
            CliffSlope = s.CliffSlope,
            CliffFloor = s.CliffFloor,
        };
    }

    public void ResetStats()
    {
        Counters.Reset();
        Scheduler.ResetStats();
    }

    public void Stop() => _stopping.Cancel();

    public void Dispose()
    {
        _stopping.Cancel();
        Scheduler.Dispose();
        _stopping.Dispose();
    }
}
