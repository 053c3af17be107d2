using System.Globalization;

namespace OllamaSim;

/// <summary>Everything that configures one simulator instance. Set from the command line or in-process.</summary>
public sealed class SimulatorOptions
{
    public const string DefaultModel = "qwen2:1.5b";

    /// <summary>Number of request slots, like OLLAMA_NUM_PARALLEL. Requests beyond it wait in a FIFO queue. Default: 1.</summary>
    public int Parallel { get; set; } = 1;

    /// <summary>1 ≈ real CPU speed, 0.01 = 100× faster, 0 = no model delay at all. Default: 1.</summary>
    public double TimeScale { get; set; } = 1;

    /// <summary>Speed multiplier of the simulated hardware (2 = twice as fast). Changeable at runtime. Default: 1.</summary>
    public double Speed { get; set; } = 1;

    /// <summary>
    /// Aggregate throughput with k busy slots is k^e times the solo throughput (up to <see cref="CliffAt"/>).
    /// 0.32 matches the CPU workshop measurements; 1.0 is perfectly parallel (a GPU with room to spare). Default: 0.32.
    /// </summary>
    public double ScalingExponent { get; set; } = 0.32;

    /// <summary>
    /// K: past this many computing slots aggregate throughput falls by <see cref="CliffSlope"/> a slot instead of
    /// growing as k^e; see <see cref="CapacityCurve"/>. Default: null (no cliff).
    /// </summary>
    public int? CliffAt { get; set; }

    /// <summary>S: share of aggregate(K) lost with each computing slot past <see cref="CliffAt"/>. Default: 0 (flat past K).</summary>
    public double CliffSlope { get; set; }

    /// <summary>Least share of aggregate(K) left past the cliff, however many slots compute. Default: 0.1.</summary>
    public double CliffFloor { get; set; } = 0.1;

    /// <summary>Pre-pulled models. Empty means the default, <see cref="DefaultModel"/>.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Seed for fault injection; null picks a random seed. Default: null.</summary>
    public int? Seed { get; set; }

    /// <summary>How many recent requests GET /sim/requests keeps; older ones are dropped and counted. 0 records none. Default: 1000.</summary>
    public int RequestLogCapacity { get; set; } = 1000;

    /// <summary>Initial fault injection settings; change at runtime through <see cref="SimulatorServer.SetFaults"/>. Default: none.</summary>
    public FaultOptions Faults { get; set; } = new();

    /// <summary>Clock for the capacity model and reported durations; tests can inject a fake one. Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The model names to start with, normalised to name:tag.</summary>
    public IReadOnlyList<string> EffectiveModels =>
        (Models.Count == 0 ? [DefaultModel] : Models).Select(ModelName.Normalize).Distinct().ToList();

    /// <summary>The capacity curve these options describe.</summary>
    public CapacityCurve Curve => new()
    {
        ScalingExponent = ScalingExponent,
        CliffAt = CliffAt,
        CliffSlope = CliffSlope,
        CliffFloor = CliffFloor,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Parallel < 1)
        {
            throw new ArgumentException($"parallel must be at least 1 (got {Parallel})");
        }

        if (!double.IsFinite(TimeScale) || TimeScale < 0)
        {
            throw new ArgumentException($"time-scale must be a finite number >= 0 (got {Format(TimeScale)})");
        }

        if (!double.IsFinite(Speed) || Speed <= 0)
        {
            throw new ArgumentException($"speed must be a finite number > 0 (got {Format(Speed)})");
        }

        Curve.Validate();

        if (RequestLogCapacity < 0)
        {
            throw new ArgumentException($"request-log-size must not be negative (got {RequestLogCapacity})");
        }

        if (Models.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("model names must not be empty");
        }

        Faults.Validate();
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"parallel={Parallel} time-scale={TimeScale} speed={Speed} {Curve} " +
            $"models=[{string.Join(", ", EffectiveModels)}] seed={(Seed?.ToString(CultureInfo.InvariantCulture) ?? "random")} " +
            $"request-log-size={RequestLogCapacity} {Faults}");

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
