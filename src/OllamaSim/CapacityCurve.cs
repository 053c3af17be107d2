using System.Globalization;

namespace OllamaSim;

/// <summary>
/// Aggregate throughput of the simulated hardware as a function of the number of slots computing at once,
/// in multiples of one request's solo throughput.
/// <para>
/// Up to the cliff it grows as <c>aggregate(k) = k^e</c> (<see cref="ScalingExponent"/>): sub-linear on a
/// CPU (e = 0.32), nearly linear on a GPU with room to spare (e ≈ 1). Past <see cref="CliffAt"/> = K it falls:
/// <c>aggregate(k) = aggregate(K) × max(<see cref="CliffFloor"/>, 1 − <see cref="CliffSlope"/> × (k − K))</c>,
/// the way a GPU that runs out of memory for its KV cache, or a CPU that starts thrashing, delivers less in
/// total when given more to do at once. Without a cliff the curve is k^e all the way.
/// </para>
/// </summary>
public sealed record CapacityCurve
{
    /// <summary>The exponent e of k^e. Default: 0.32, the workshop's CPU measurements.</summary>
    public double ScalingExponent { get; init; } = 0.32;

    /// <summary>K: the number of computing slots past which aggregate throughput falls. Default: null (no cliff).</summary>
    public int? CliffAt { get; init; }

    /// <summary>S: the share of aggregate(K) lost with each slot past K. Default: 0 (throughput stays flat past K).</summary>
    public double CliffSlope { get; init; }

    /// <summary>The least share of aggregate(K) left however far past K; above 0 so work always progresses. Default: 0.1.</summary>
    public double CliffFloor { get; init; } = 0.1;

    /// <summary>Aggregate throughput with <paramref name="computing"/> slots computing, in multiples of one request alone.</summary>
    public double Aggregate(int computing)
    {
        if (computing <= 0)
        {
            return 0;
        }

        if (CliffAt is not { } k || computing <= k)
        {
            return Math.Pow(computing, ScalingExponent);
        }

        return Math.Pow(k, ScalingExponent) * Math.Max(CliffFloor, 1 - (CliffSlope * (computing - k)));
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting, by its command-line name.</summary>
    public void Validate()
    {
        if (!double.IsFinite(ScalingExponent) || ScalingExponent <= 0 || ScalingExponent > 1)
        {
            throw new ArgumentException($"scaling-exponent must be in (0, 1] (got {Format(ScalingExponent)})");
        }

        if (CliffAt is < 1)
        {
            throw new ArgumentException($"cliff-at must be at least 1 (got {CliffAt})");
        }

        if (!double.IsFinite(CliffSlope) || CliffSlope < 0)
        {
            throw new ArgumentException($"cliff-slope must be a finite number >= 0 (got {Format(CliffSlope)})");
        }

        if (!double.IsFinite(CliffFloor) || CliffFloor <= 0 || CliffFloor > 1)
        {
            throw new ArgumentException($"cliff-floor must be in (0, 1] (got {Format(CliffFloor)})");
        }
    }

    public override string ToString() =>
        CliffAt is { } k
            ? string.Create(CultureInfo.InvariantCulture, $"scaling-exponent={ScalingExponent} cliff-at={k} cliff-slope={CliffSlope} cliff-floor={CliffFloor}")
            : string.Create(CultureInfo.InvariantCulture, $"scaling-exponent={ScalingExponent}");

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
