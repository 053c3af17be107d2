namespace OllamaSim;

/// <summary>Everything that configures one simulator instance. Set from the command line or in-process.</summary>
public sealed class SimulatorOptions
{
    /// <summary>Number of request slots, like OLLAMA_NUM_PARALLEL. Requests beyond it wait in a FIFO queue.</summary>
    public int Parallel { get; set; } = 1;

    /// <summary>1 ≈ real CPU speed, 0.01 = 100× faster, 0 = no model delay at all.</summary>
    public double TimeScale { get; set; } = 1;

    /// <summary>Speed multiplier of the simulated hardware (2 = twice as fast). Changeable at runtime.</summary>
    public double Speed { get; set; } = 1;

    /// <summary>
    /// Aggregate throughput with k busy slots is k^e times the solo throughput.
    /// 0.32 matches the CPU workshop measurements; 1.0 is perfectly parallel (a GPU with room to spare).
    /// </summary>
    public double ScalingExponent { get; set; } = 0.32;

    /// <summary>Pre-pulled models. Empty means the default, <see cref="DefaultModel"/>.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Seed for fault injection; null picks a random seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Initial fault injection settings; change at runtime through <see cref="SimulatorServer.SetFaults"/>.</summary>
    public FaultOptions Faults { get; set; } = new();

    /// <summary>Clock for the capacity model and reported durations; tests can inject a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public const string DefaultModel = "qwen2:1.5b";

    /// <summary>The model names to start with, normalised to name:tag.</summary>
    public IReadOnlyList<string> EffectiveModels =>
        (Models.Count == 0 ? [DefaultModel] : Models).Select(ModelName.Normalize).Distinct().ToList();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Parallel < 1)
        {
            throw new ArgumentException($"parallel must be at least 1 (got {Parallel})");
        }

        if (!double.IsFinite(TimeScale) || TimeScale < 0)
        {
            throw new ArgumentException($"time-scale must be a finite number >= 0 (got {TimeScale})");
        }

        if (!double.IsFinite(Speed) || Speed <= 0)
        {
            throw new ArgumentException($"speed must be a finite number > 0 (got {Speed})");
        }

        if (!double.IsFinite(ScalingExponent) || ScalingExponent <= 0 || ScalingExponent > 1)
        {
            throw new ArgumentException($"scaling-exponent must be in (0, 1] (got {ScalingExponent})");
        }

        if (Models.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("model names must not be empty");
        }

        Faults.Validate();
    }

    public override string ToString() =>
        $"parallel={Parallel} time-scale={TimeScale} speed={Speed} scaling-exponent={ScalingExponent} " +
        $"models=[{string.Join(", ", EffectiveModels)}] seed={(Seed?.ToString() ?? "random")} {Faults}";
}
