namespace OrleansLlm.Benchmarks;

/// <summary>What the scale scenario measured: goodput of every pod while Active, start-up and drain times, losses.</summary>
/// <param name="History">Each replica count the scaler set, with when (seconds from the push).</param>
public sealed record ScaleResult(
    int Items,
    int Lost,
    long DeadLettered,
    long Duplicates,
    double MakespanSeconds,
    double TimeScale,
    int Target,
    int MinReplicas,
    int MaxReplicas,
    TimeSpan PollInterval,
    IReadOnlyList<(double Seconds, int Replicas)> History,
    IReadOnlyList<PodFigures> Pods,
    string? Error = null)
{
    /// <summary>Σ busy slot-seconds ÷ Σ available slot-seconds over every pod while it was Active.</summary>
    public double Goodput => Pods.Sum(p => p.BusySlotSeconds) / Pods.Sum(p => p.AvailableSlotSeconds);

    public double ItemsPerSecond => (Items - Lost) / MakespanSeconds;

    /// <summary>For the chart: goodput as D's utilisation; no ideal makespan, since capacity changes with the pods.</summary>
    public RunResult AsRunResult() => new()
    {
        Scenario = "scale", Design = "D", Description = "OrleansLlm, pods scaled by KEDA's formula", Items = Items, TimeScale = TimeScale,
        MakespanSeconds = MakespanSeconds, TimedOut = false, IdealSeconds = double.NaN, Utilisation = Goodput, QueueWait = Summary.Empty,
        SimulatorQueueWaitMean = double.NaN, SimulatorQueueWaitMaxP99 = double.NaN, EndToEnd = Summary.Empty, Lost = Lost, ExtraCalls = 0,
        DuplicateResults = Duplicates, ServedPerBackend = Pods.Select(p => p.Served).ToArray(), WallSeconds = MakespanSeconds,
    };
}
